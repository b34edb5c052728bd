//! Who may create an account: the sign-up policy (`open`, `invite`, `closed`), single-use
//! invite links made by platform admins, and the one-time setup token that makes the
//! first (admin) account of a fresh install — so that no anonymous visitor becomes admin
//! of an instance someone else can reach. Tokens are kept as SHA-256 digests only.

use super::{accounts::Admission, digest_key, AccountError, Accounts, AuthError, NewAccount};
use crate::catalog::Actor;
use crate::clock::{now_ms, rfc3339};
use crate::db::{self, signup::SqlSignupInvite, users::SqlUser, Db, StoreError};
use crate::error::{ApiError, RequestError};
use crate::ids::{new_id, random_base62};
use app::dto::{CreatedSignupInviteDto, SignupInviteDto, SignupPolicy, SignupStatusDto};

const INVITE_PREFIX: &str = "inv-";
const SETUP_PREFIX: &str = "setup-";
const TOKEN_CHARS: usize = 32;
/// How long an invite link works unless the admin chose otherwise.
pub const DEFAULT_INVITE_DAYS: u32 = 7;
const MAX_INVITE_DAYS: u32 = 90;

/// What a visitor sends to sign up.
pub struct SignupRequest {
    pub email: String,
    pub password: String,
    pub handle: String,
    pub invite: Option<String>,
    pub setup_token: Option<String>,
}

#[derive(Clone)]
pub struct Signup {
    db: Db,
    accounts: Accounts,
    policy: SignupPolicy,
}

impl Signup {
    pub fn new(db: Db, accounts: Accounts, policy: SignupPolicy) -> Self {
        Self {
            db,
            accounts,
            policy,
        }
    }

    pub async fn status(&self) -> Result<SignupStatusDto, ApiError> {
        Ok(SignupStatusDto {
            policy: self.policy,
            needs_setup: self.user_count().await? == 0,
        })
    }

    async fn user_count(&self) -> Result<i64, ApiError> {
        Ok(db::signup::user_count(&self.db.pool)
            .await
            .map_err(StoreError::from)?)
    }

    /// A new setup token while no account exists (`None` once one does). Every token
    /// issued works until the first account is made with one of them; then all are void.
    pub async fn issue_setup_token(&self) -> Result<Option<String>, ApiError> {
        if self.user_count().await? > 0 {
            return Ok(None);
        }
        let token = format!("{SETUP_PREFIX}{}", random_base62(TOKEN_CHARS));
        db::signup::insert_setup_token(&self.db.pool, &digest_key(&token), now_ms())
            .await
            .map_err(StoreError::from)?;
        Ok(Some(token))
    }

    /// Creates a visitor's account if the policy lets them in: with the setup token on a
    /// fresh install (they become admin), else openly, with an invite, or not at all.
    pub async fn register(&self, request: SignupRequest) -> Result<SqlUser, ApiError> {
        let given = |t: Option<String>| t.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
        let admission = match (given(request.setup_token), given(request.invite)) {
            (Some(token), _) => Admission::SetupToken(digest_key(&token)),
            (None, invite) => match (self.policy, invite) {
                (SignupPolicy::Open, _) => Admission::Open,
                (SignupPolicy::Invite, Some(invite)) => {
                    Admission::Invite(digest_key(invite_token(&invite)))
                }
                // A fresh install has to be set up first, whatever the policy.
                _ if self.user_count().await? == 0 => {
                    return Err(AccountError::SetupTokenRequired.into())
                }
                (SignupPolicy::Closed, _) => return Err(AccountError::SignupClosed.into()),
                (SignupPolicy::Invite, None) => return Err(AccountError::InviteRequired.into()),
            },
        };
        self.accounts
            .register(
                NewAccount {
                    email: request.email,
                    password: request.password,
                    handle: request.handle,
                    admin: false,
                },
                admission,
            )
            .await
    }

    /// A new single-use invite link (admins): returned once, kept as a digest.
    pub async fn create_invite(
        &self,
        actor: &Actor,
        note: &str,
        days: Option<u32>,
    ) -> Result<CreatedSignupInviteDto, ApiError> {
        let admin = self.admin(actor).await?;
        let note = note.trim();
        if note.chars().count() > 200 || note.chars().any(char::is_control) {
            return Err(RequestError::InvalidField {
                field: "note",
                message: "The note must be at most 200 characters, without control characters"
                    .into(),
            }
            .into());
        }
        let days = days.unwrap_or(DEFAULT_INVITE_DAYS);
        if !(1..=MAX_INVITE_DAYS).contains(&days) {
            return Err(RequestError::InvalidField {
                field: "days",
                message: format!("An invite works for 1 to {MAX_INVITE_DAYS} days"),
            }
            .into());
        }
        let token = format!("{INVITE_PREFIX}{}", random_base62(TOKEN_CHARS));
        let now = now_ms();
        let row = SqlSignupInvite {
            id: new_id("sinv"),
            note: note.to_owned(),
            created_by: admin.email,
            created_at: now,
            expires_at: now + i64::from(days) * 86_400_000,
            used_at: None,
            used_by: None,
        };
        db::signup::insert_invite(&self.db.pool, &row, &digest_key(&token))
            .await
            .map_err(StoreError::from)?;
        tracing::info!(invite_id = %row.id, "sign-up invite created");
        Ok(CreatedSignupInviteDto {
            invite: invite_dto(row, now),
            path: format!("/signup?invite={token}"),
        })
    }

    pub async fn list_invites(&self, actor: &Actor) -> Result<Vec<SignupInviteDto>, ApiError> {
        self.admin(actor).await?;
        let now = now_ms();
        Ok(db::signup::list_invites(&self.db.pool)
            .await
            .map_err(StoreError::from)?
            .into_iter()
            .map(|row| invite_dto(row, now))
            .collect())
    }

    /// Withdraws an unused invite (admins).
    pub async fn withdraw_invite(&self, actor: &Actor, id: &str) -> Result<(), ApiError> {
        self.admin(actor).await?;
        if !db::signup::delete_unused_invite(&self.db.pool, id)
            .await
            .map_err(StoreError::from)?
        {
            return Err(RequestError::NotFound("Unused invite").into());
        }
        Ok(())
    }

    async fn admin(&self, actor: &Actor) -> Result<SqlUser, ApiError> {
        match self.accounts.find(&actor.user_id).await? {
            Some(user) if user.is_admin.0 => Ok(user),
            _ => Err(AuthError::AdminOnly.into()),
        }
    }
}

/// The token of a pasted invite: the link itself or just its code.
fn invite_token(pasted: &str) -> &str {
    pasted.rsplit_once("invite=").map_or(pasted, |(_, token)| {
        token.split('&').next().unwrap_or(token)
    })
}

fn invite_dto(row: SqlSignupInvite, now: i64) -> SignupInviteDto {
    let status = if row.used_at.is_some() {
        "used"
    } else if row.expires_at <= now {
        "expired"
    } else {
        "unused"
    };
    SignupInviteDto {
        id: row.id,
        note: row.note,
        created_by: row.created_by,
        created_at: rfc3339(row.created_at),
        expires_at: rfc3339(row.expires_at),
        status: status.to_owned(),
        used_at: row.used_at.map(rfc3339),
        used_by: row.used_by,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pasted_link_or_code_gives_the_token() {
        assert_eq!(invite_token("inv-abc"), "inv-abc");
        assert_eq!(
            invite_token("https://lm.example/signup?invite=inv-abc"),
            "inv-abc"
        );
        assert_eq!(
            invite_token("http://x/signup?invite=inv-abc&utm=1"),
            "inv-abc"
        );
    }
}
