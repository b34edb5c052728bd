//! Accounts: creation under an admission (operator, open sign-up, invite, setup token),
//! log-in (throttled, see [`super::throttle`]), handle and password changes. The first
//! account of an installation is its platform admin.

use std::net::IpAddr;

use axum::http::StatusCode;

use super::{normalize_handle, passwords, throttle::LoginThrottle, ApiKeys, AuthError};
use crate::changes::Changes;
use crate::clock::now_ms;
use crate::db::{self, handles::OwnerKind, users::SqlUser, Db, Flag, StoreError};
use crate::error::codes;
use crate::error::{ApiError, Coded};
use crate::ids::new_id;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("Enter a valid email address")]
    InvalidEmail,
    #[error(
        "Password must be at least {} characters",
        passwords::MIN_PASSWORD_CHARS
    )]
    WeakPassword,
    #[error(
        "Password must be at most {} characters",
        passwords::MAX_PASSWORD_CHARS
    )]
    PasswordTooLong,
    #[error("An account with this email already exists")]
    EmailTaken,
    #[error("No user with email {0}")]
    UserNotFound(String),
    #[error("Current password is wrong")]
    WrongPassword,
    #[error("Sign-up is closed on this LangMart: ask an administrator for an account")]
    SignupClosed,
    #[error("Sign-up needs an invite link from an administrator of this LangMart")]
    InviteRequired,
    #[error("This invite link is not valid: it was used, withdrawn or has expired")]
    InvalidInvite,
    #[error("This LangMart has no account yet: enter the setup token printed in the server log (or run `langmart user create --admin`)")]
    SetupTokenRequired,
    #[error("This setup token is not valid (the first account may exist already: log in)")]
    InvalidSetupToken,
}

impl Coded for AccountError {
    fn code(&self) -> &'static str {
        match self {
            AccountError::InvalidEmail => codes::INVALID_EMAIL,
            AccountError::WeakPassword | AccountError::PasswordTooLong => codes::WEAK_PASSWORD,
            AccountError::EmailTaken => codes::EMAIL_TAKEN,
            AccountError::UserNotFound(_) => codes::USER_NOT_FOUND,
            AccountError::WrongPassword => codes::AUTH_INVALID_CREDENTIALS,
            AccountError::SignupClosed => codes::SIGNUP_CLOSED,
            AccountError::InviteRequired | AccountError::InvalidInvite => {
                codes::SIGNUP_INVITE_REQUIRED
            }
            AccountError::SetupTokenRequired | AccountError::InvalidSetupToken => {
                codes::SETUP_TOKEN_REQUIRED
            }
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            AccountError::EmailTaken => StatusCode::CONFLICT,
            AccountError::UserNotFound(_) => StatusCode::NOT_FOUND,
            AccountError::SignupClosed
            | AccountError::InviteRequired
            | AccountError::InvalidInvite
            | AccountError::SetupTokenRequired
            | AccountError::InvalidSetupToken => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            AccountError::InvalidEmail
            | AccountError::EmailTaken
            | AccountError::UserNotFound(_) => Some("email"),
            AccountError::WeakPassword | AccountError::PasswordTooLong => Some("password"),
            AccountError::WrongPassword => Some("current_password"),
            AccountError::SignupClosed => None,
            AccountError::InviteRequired | AccountError::InvalidInvite => Some("invite"),
            AccountError::SetupTokenRequired | AccountError::InvalidSetupToken => {
                Some("setup_token")
            }
        }
    }
}

/// What lets an account be created, checked in the transaction that creates it.
#[derive(Debug, Clone)]
pub enum Admission {
    /// An operator at the command line: no conditions; the first account becomes admin.
    Operator,
    /// Open sign-up: anyone, once the first account exists.
    Open,
    /// A sign-up invite (the digest of its token), spent by this sign-up.
    Invite(String),
    /// The setup token (its digest) of a fresh install: makes the first, admin, account.
    SetupToken(String),
}

pub struct NewAccount {
    pub email: String,
    pub password: String,
    pub handle: String,
    /// Make the account a platform admin even when it is not the first one.
    pub admin: bool,
}

pub fn normalize_email(input: &str) -> Result<String, AccountError> {
    let email = input.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && matches!(email.split_once('@'), Some((local, domain))
            if !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
                && !domain.ends_with('.') && !domain.contains('@'));
    if valid {
        Ok(email)
    } else {
        Err(AccountError::InvalidEmail)
    }
}

pub fn check_password(password: &str) -> Result<(), AccountError> {
    let chars = password.chars().count();
    if chars < passwords::MIN_PASSWORD_CHARS {
        Err(AccountError::WeakPassword)
    } else if chars > passwords::MAX_PASSWORD_CHARS {
        Err(AccountError::PasswordTooLong)
    } else {
        Ok(())
    }
}

#[derive(Clone)]
pub struct Accounts {
    db: Db,
    keys: ApiKeys,
    changes: Changes,
    throttle: LoginThrottle,
    hasher: passwords::Hasher,
}

impl Accounts {
    pub fn new(db: Db, keys: ApiKeys, changes: Changes) -> Self {
        Self {
            db,
            keys,
            changes,
            throttle: LoginThrottle::default(),
            hasher: passwords::Hasher::default(),
        }
    }

    /// Creates an account as an operator does (command line, tests): no sign-up policy.
    pub async fn create(&self, new: NewAccount) -> Result<SqlUser, ApiError> {
        self.register(new, Admission::Operator).await
    }

    /// Creates an account if `admission` lets it in.
    pub async fn register(
        &self,
        new: NewAccount,
        admission: Admission,
    ) -> Result<SqlUser, ApiError> {
        let email = normalize_email(&new.email)?;
        let handle = normalize_handle(&new.handle)?;
        check_password(&new.password)?;
        let password_hash = self.hasher.hash(new.password).await?;
        let now = now_ms();
        let mut user = SqlUser {
            id: new_id("user"),
            email,
            handle,
            password_hash,
            is_admin: Flag(new.admin),
            failed_logins: 0,
            locked_until: None,
            created_at: now,
            updated_at: now,
            sessions_valid_after: 0,
        };

        let mut tx = self.db.pool.begin().await.map_err(StoreError::from)?;
        let first = db::users::count(&mut tx).await.map_err(StoreError::from)? == 0;
        match &admission {
            Admission::Operator => user.is_admin.0 |= first,
            Admission::SetupToken(digest) => {
                if !first
                    || !db::signup::consume_setup_token(&mut tx, digest)
                        .await
                        .map_err(StoreError::from)?
                {
                    return Err(AccountError::InvalidSetupToken.into());
                }
                user.is_admin.0 = true;
            }
            Admission::Open | Admission::Invite(_) if first => {
                return Err(AccountError::SetupTokenRequired.into())
            }
            Admission::Open => {}
            Admission::Invite(digest) => {
                if !db::signup::consume_invite(&mut tx, digest, &user.email, now)
                    .await
                    .map_err(StoreError::from)?
                {
                    return Err(AccountError::InvalidInvite.into());
                }
            }
        }
        db::handles::claim(&mut tx, &user.handle, OwnerKind::User, &user.id).await?;
        match db::users::insert(&mut tx, &user).await {
            Ok(()) => {}
            Err(e) if db::is_unique_violation(&e) => return Err(AccountError::EmailTaken.into()),
            Err(e) => return Err(StoreError::from(e).into()),
        }
        tx.commit().await.map_err(StoreError::from)?;
        self.changes.bump();
        tracing::info!(user_id = %user.id, admin = user.is_admin.0, "account created");
        Ok(user)
    }

    /// Signs in with email and password. Every failure, whether the account exists or not,
    /// costs one argon2 verification and answers the same; `client` (the caller's address)
    /// feeds the throttle.
    pub async fn login(
        &self,
        client: Option<IpAddr>,
        email: &str,
        password: String,
    ) -> Result<SqlUser, ApiError> {
        let email = email.trim().to_lowercase();
        self.throttle.check(client, &email)?;
        let user = db::users::find_by_email(&self.db.pool, &email)
            .await
            .map_err(StoreError::from)?;
        let verified = match &user {
            Some(user) => {
                self.hasher
                    .verify(user.password_hash.clone(), password)
                    .await?
            }
            None => {
                self.hasher.verify_dummy(password).await?;
                false
            }
        };
        match user {
            Some(user) if verified => {
                self.throttle.succeeded(client, &email);
                Ok(user)
            }
            _ => {
                self.throttle.failed(client, &email);
                tracing::info!(client = ?client, "failed login");
                Err(AuthError::InvalidCredentials.into())
            }
        }
    }

    /// The most password hashes that ran at once (bounded by [`passwords::in_flight_limit`]).
    pub fn password_checks_peak(&self) -> usize {
        self.hasher.peak_in_flight()
    }

    pub async fn find(&self, user_id: &str) -> Result<Option<SqlUser>, ApiError> {
        Ok(db::users::find_by_id(&self.db.pool, user_id)
            .await
            .map_err(StoreError::from)?)
    }

    /// Every account (platform admins only).
    pub async fn list(&self, actor: &crate::catalog::Actor) -> Result<Vec<SqlUser>, ApiError> {
        if !actor.is_admin {
            return Err(AuthError::AdminOnly.into());
        }
        Ok(db::users::list_all(&self.db.pool)
            .await
            .map_err(StoreError::from)?)
    }

    pub async fn find_by_email(&self, email: &str) -> Result<SqlUser, ApiError> {
        let email = email.trim().to_lowercase();
        db::users::find_by_email(&self.db.pool, &email)
            .await
            .map_err(StoreError::from)?
            .ok_or_else(|| AccountError::UserNotFound(email).into())
    }

    pub async fn change_handle(&self, user_id: &str, handle: &str) -> Result<SqlUser, ApiError> {
        let handle = normalize_handle(handle)?;
        let user = self.find(user_id).await?.ok_or(AuthError::NotSignedIn)?;
        if user.handle == handle {
            return Ok(user);
        }
        let now = now_ms();
        let mut tx = self.db.pool.begin().await.map_err(StoreError::from)?;
        db::handles::claim(&mut tx, &handle, OwnerKind::User, user_id).await?;
        db::handles::release(&mut tx, &user.handle)
            .await
            .map_err(StoreError::from)?;
        db::users::set_handle(&mut tx, user_id, &handle, now)
            .await
            .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        // Cached key owners and the routing snapshot carry the handle.
        self.keys.forget_all();
        self.changes.bump();
        Ok(SqlUser {
            handle,
            updated_at: now,
            ..user
        })
    }

    pub async fn change_password(
        &self,
        user_id: &str,
        current: String,
        new_password: String,
    ) -> Result<(), ApiError> {
        check_password(&new_password)?;
        let user = self.find(user_id).await?.ok_or(AuthError::NotSignedIn)?;
        if !self
            .hasher
            .verify(user.password_hash.clone(), current)
            .await?
        {
            return Err(AccountError::WrongPassword.into());
        }
        let hash = self.hasher.hash(new_password).await?;
        db::users::set_password(&self.db.pool, user_id, &hash, now_ms())
            .await
            .map_err(StoreError::from)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lowercased_and_checked() {
        assert_eq!(
            normalize_email(" Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn passwords_need_ten_characters() {
        assert!(check_password("123456789").is_err());
        assert!(check_password("1234567890").is_ok());
        // counted in characters, not bytes
        assert!(check_password("ééééééééé").is_err());
    }
}
