//! Organizations: created by a user (who becomes its first admin), with members in the
//! roles `admin` and `member`. Admins manage members; anyone may leave, except the last
//! admin. Non-members are told the organization does not exist, so handles don't leak.

use axum::http::StatusCode;

use crate::auth::{normalize_handle, Accounts};
use crate::changes::Changes;
use crate::clock::now_ms;
use crate::db::{self, handles::OwnerKind, orgs::SqlOrg, orgs::SqlOrgForMember, Db, StoreError};
use crate::error::codes;
use crate::error::{ApiError, Coded};
use crate::ids::new_id;
use app::dto::{MemberDto, OrgDto, OrgRole};

#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    #[error("Organization {0} not found")]
    NotFound(String),
    #[error("Only admins of {0} may do this")]
    NotAdmin(String),
    #[error("An organization needs at least one admin: make another member admin first")]
    LastAdmin,
    #[error("{0} is already a member")]
    AlreadyMember(String),
    #[error("{0} is not a member")]
    NotMember(String),
    #[error("Organization name must be 1–100 characters")]
    InvalidName,
}

impl Coded for OrgError {
    fn code(&self) -> &'static str {
        match self {
            OrgError::NotFound(_) => codes::ORG_NOT_FOUND,
            OrgError::NotAdmin(_) => codes::ACCESS_DENIED,
            OrgError::LastAdmin => codes::ORG_LAST_ADMIN,
            OrgError::AlreadyMember(_) => codes::ALREADY_MEMBER,
            OrgError::NotMember(_) => codes::MEMBER_NOT_FOUND,
            OrgError::InvalidName => codes::INVALID_NAME,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            OrgError::NotFound(_) | OrgError::NotMember(_) => StatusCode::NOT_FOUND,
            OrgError::NotAdmin(_) => StatusCode::FORBIDDEN,
            OrgError::LastAdmin | OrgError::AlreadyMember(_) => StatusCode::CONFLICT,
            OrgError::InvalidName => StatusCode::BAD_REQUEST,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            OrgError::AlreadyMember(_) => Some("email"),
            OrgError::InvalidName => Some("name"),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct Orgs {
    db: Db,
    accounts: Accounts,
    changes: Changes,
}

impl Orgs {
    pub fn new(db: Db, accounts: Accounts, changes: Changes) -> Self {
        Self {
            db,
            accounts,
            changes,
        }
    }

    pub async fn create(
        &self,
        user_id: &str,
        name: &str,
        handle: &str,
    ) -> Result<OrgDto, ApiError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(OrgError::InvalidName.into());
        }
        let handle = normalize_handle(handle)?;
        let now = now_ms();
        let org = SqlOrg {
            id: new_id("org"),
            name: name.to_owned(),
            handle,
            created_by: user_id.to_owned(),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.db.pool.begin().await.map_err(StoreError::from)?;
        db::handles::claim(&mut tx, &org.handle, OwnerKind::Organization, &org.id).await?;
        db::orgs::insert(&mut tx, &org)
            .await
            .map_err(StoreError::from)?;
        db::orgs::add_member(&mut *tx, &org.id, user_id, OrgRole::Admin, now)
            .await
            .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        self.changes.bump();
        tracing::info!(org_id = %org.id, handle = %org.handle, "organization created");
        Ok(OrgDto {
            id: org.id,
            name: org.name,
            handle: org.handle,
            role: OrgRole::Admin,
            member_count: 1,
            created_at: crate::clock::rfc3339(now),
        })
    }

    pub async fn list(&self, user_id: &str) -> Result<Vec<OrgDto>, ApiError> {
        let rows = db::orgs::list_for_user(&self.db.pool, user_id)
            .await
            .map_err(StoreError::from)?;
        Ok(rows.into_iter().map(SqlOrgForMember::into_dto).collect())
    }

    /// The organization as `user_id` sees it; not found unless they are a member.
    async fn as_member(&self, user_id: &str, handle: &str) -> Result<SqlOrgForMember, ApiError> {
        db::orgs::find_for_member(&self.db.pool, handle.trim(), user_id)
            .await
            .map_err(StoreError::from)?
            .ok_or_else(|| OrgError::NotFound(handle.trim().to_owned()).into())
    }

    async fn as_admin(&self, user_id: &str, handle: &str) -> Result<SqlOrgForMember, ApiError> {
        let org = self.as_member(user_id, handle).await?;
        if OrgRole::parse(&org.role) != Some(OrgRole::Admin) {
            return Err(OrgError::NotAdmin(org.handle).into());
        }
        Ok(org)
    }

    pub async fn members(&self, user_id: &str, handle: &str) -> Result<Vec<MemberDto>, ApiError> {
        let org = self.as_member(user_id, handle).await?;
        let rows = db::orgs::members(&self.db.pool, &org.id)
            .await
            .map_err(StoreError::from)?;
        Ok(rows.into_iter().map(|m| m.into_dto()).collect())
    }

    pub async fn add_member(
        &self,
        actor_id: &str,
        handle: &str,
        email: &str,
        role: OrgRole,
    ) -> Result<MemberDto, ApiError> {
        let org = self.as_admin(actor_id, handle).await?;
        let user = self.accounts.find_by_email(email).await?;
        match db::orgs::add_member(&self.db.pool, &org.id, &user.id, role, now_ms()).await {
            Ok(()) => {}
            Err(e) if db::is_unique_violation(&e) => {
                return Err(OrgError::AlreadyMember(user.email).into())
            }
            Err(e) => return Err(StoreError::from(e).into()),
        }
        let mut tx = self.db.pool.begin().await.map_err(StoreError::from)?;
        let member = db::orgs::member(&mut tx, &org.id, &user.id)
            .await
            .map_err(StoreError::from)?
            .ok_or_else(|| OrgError::NotMember(user.email.clone()))?;
        tx.commit().await.map_err(StoreError::from)?;
        self.changes.bump();
        Ok(member.into_dto())
    }

    pub async fn set_role(
        &self,
        actor_id: &str,
        handle: &str,
        user_id: &str,
        role: OrgRole,
    ) -> Result<(), ApiError> {
        let org = self.as_admin(actor_id, handle).await?;
        let mut tx = self.db.pool.begin().await.map_err(StoreError::from)?;
        let member = db::orgs::member(&mut tx, &org.id, user_id)
            .await
            .map_err(StoreError::from)?
            .ok_or_else(|| OrgError::NotMember(user_id.to_owned()))?;
        if member.role() == OrgRole::Admin
            && role != OrgRole::Admin
            && db::orgs::count_admins(&mut tx, &org.id)
                .await
                .map_err(StoreError::from)?
                <= 1
        {
            return Err(OrgError::LastAdmin.into());
        }
        db::orgs::set_role(&mut tx, &org.id, user_id, role)
            .await
            .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        self.changes.bump();
        Ok(())
    }

    /// Removes a member (admins only), or the actor themself when `user_id` is the actor.
    pub async fn remove_member(
        &self,
        actor_id: &str,
        handle: &str,
        user_id: &str,
    ) -> Result<(), ApiError> {
        let org = if actor_id == user_id {
            self.as_member(actor_id, handle).await?
        } else {
            self.as_admin(actor_id, handle).await?
        };
        let mut tx = self.db.pool.begin().await.map_err(StoreError::from)?;
        let member = db::orgs::member(&mut tx, &org.id, user_id)
            .await
            .map_err(StoreError::from)?
            .ok_or_else(|| OrgError::NotMember(user_id.to_owned()))?;
        if member.role() == OrgRole::Admin
            && db::orgs::count_admins(&mut tx, &org.id)
                .await
                .map_err(StoreError::from)?
                <= 1
        {
            return Err(OrgError::LastAdmin.into());
        }
        db::orgs::remove_member(&mut tx, &org.id, user_id)
            .await
            .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        self.changes.bump();
        Ok(())
    }

    pub async fn leave(&self, user_id: &str, handle: &str) -> Result<(), ApiError> {
        self.remove_member(user_id, handle, user_id).await
    }
}
