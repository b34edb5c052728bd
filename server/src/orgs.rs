//! Organizations: created by a user (who becomes its first admin), with members in the
//! roles `admin` and `member`. Nobody is made a member without consent: an admin invites
//! an email address, and the person with it accepts (or declines); the answer to an
//! invitation is the same whether the address has an account or not. Each member chooses
//! whether the organization's connections may serve their un-namespaced requests and
//! whether its priorities compete with their own connections. Admins manage members;
//! anyone may leave, except the last admin. Non-members are told the organization does
//! not exist, so handles don't leak.

use axum::http::StatusCode;

use crate::auth::{normalize_email, normalize_handle, Accounts};
use crate::changes::Changes;
use crate::clock::now_ms;
use crate::db::{self, handles::OwnerKind, orgs::SqlOrg, orgs::SqlOrgForMember, Db, StoreError};
use crate::error::codes;
use crate::error::{ApiError, Coded};
use crate::ids::new_id;
use app::dto::{InvitationDto, MemberDto, MembershipPrefsDto, OrgDto, OrgRole};

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
    #[error("No open invitation {0} for you")]
    InvitationNotFound(String),
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
            OrgError::InvitationNotFound(_) => codes::INVITATION_NOT_FOUND,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            OrgError::NotFound(_) | OrgError::NotMember(_) | OrgError::InvitationNotFound(_) => {
                StatusCode::NOT_FOUND
            }
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
            serve_unqualified: true,
            trust_priorities: false,
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

    /// The id of organization `handle`, for one of its admins.
    pub async fn admin_org_id(&self, user_id: &str, handle: &str) -> Result<String, ApiError> {
        Ok(self.as_admin(user_id, handle).await?.id)
    }

    pub async fn members(&self, user_id: &str, handle: &str) -> Result<Vec<MemberDto>, ApiError> {
        let org = self.as_member(user_id, handle).await?;
        let rows = db::orgs::members(&self.db.pool, &org.id)
            .await
            .map_err(StoreError::from)?;
        Ok(rows.into_iter().map(|m| m.into_dto()).collect())
    }

    /// Invites `email` (admins only). The answer does not say whether the address has an
    /// account: the person who has it, now or after signing up, sees the invitation and
    /// decides. Inviting an address twice keeps the first invitation.
    pub async fn invite(
        &self,
        actor_id: &str,
        handle: &str,
        email: &str,
        role: OrgRole,
    ) -> Result<InvitationDto, ApiError> {
        let org = self.as_admin(actor_id, handle).await?;
        let email = normalize_email(email)?;
        let already = db::orgs::members(&self.db.pool, &org.id)
            .await
            .map_err(StoreError::from)?
            .into_iter()
            .any(|m| m.email == email);
        if already {
            return Err(OrgError::AlreadyMember(email).into());
        }
        let invitation = db::orgs::SqlInvitation {
            id: new_id("inv"),
            org_id: org.id.clone(),
            org_handle: org.handle.clone(),
            org_name: org.name.clone(),
            email: email.clone(),
            role: role.as_str().to_owned(),
            invited_by_handle: String::new(),
            created_at: now_ms(),
        };
        db::orgs::invite(&self.db.pool, &invitation, actor_id)
            .await
            .map_err(StoreError::from)?;
        let stored = db::orgs::invitations_of_org(&self.db.pool, &org.id)
            .await
            .map_err(StoreError::from)?
            .into_iter()
            .find(|i| i.email == email)
            .unwrap_or(invitation);
        tracing::info!(org_id = %org.id, invitation = %stored.id, "invitation sent");
        Ok(invitation_dto(stored))
    }

    /// The organization's open invitations (admins).
    pub async fn invitations_of(
        &self,
        actor_id: &str,
        handle: &str,
    ) -> Result<Vec<InvitationDto>, ApiError> {
        let org = self.as_admin(actor_id, handle).await?;
        Ok(db::orgs::invitations_of_org(&self.db.pool, &org.id)
            .await
            .map_err(StoreError::from)?
            .into_iter()
            .map(invitation_dto)
            .collect())
    }

    /// Withdraws an open invitation (admins).
    pub async fn withdraw(&self, actor_id: &str, handle: &str, id: &str) -> Result<(), ApiError> {
        let org = self.as_admin(actor_id, handle).await?;
        match db::orgs::invitation(&self.db.pool, id)
            .await
            .map_err(StoreError::from)?
        {
            Some(inv) if inv.org_id == org.id => {
                db::orgs::delete_invitation(&self.db.pool, id)
                    .await
                    .map_err(StoreError::from)?;
                Ok(())
            }
            _ => Err(OrgError::InvitationNotFound(id.to_owned()).into()),
        }
    }

    /// The invitations open for the user's email address.
    pub async fn my_invitations(&self, user_id: &str) -> Result<Vec<InvitationDto>, ApiError> {
        let user = self
            .accounts
            .find(user_id)
            .await?
            .ok_or(crate::auth::AuthError::NotSignedIn)?;
        Ok(db::orgs::invitations_for_email(&self.db.pool, &user.email)
            .await
            .map_err(StoreError::from)?
            .into_iter()
            .map(invitation_dto)
            .collect())
    }

    /// An invitation of the user's own, by id.
    async fn own_invitation(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<db::orgs::SqlInvitation, ApiError> {
        let user = self
            .accounts
            .find(user_id)
            .await?
            .ok_or(crate::auth::AuthError::NotSignedIn)?;
        match db::orgs::invitation(&self.db.pool, id)
            .await
            .map_err(StoreError::from)?
        {
            Some(inv) if inv.email == user.email => Ok(inv),
            _ => Err(OrgError::InvitationNotFound(id.to_owned()).into()),
        }
    }

    /// Accepts an invitation: the user becomes a member in the invited role.
    pub async fn accept(&self, user_id: &str, id: &str) -> Result<OrgDto, ApiError> {
        let inv = self.own_invitation(user_id, id).await?;
        let role = OrgRole::parse(&inv.role).unwrap_or(OrgRole::Member);
        let mut tx = self.db.pool.begin().await.map_err(StoreError::from)?;
        match db::orgs::add_member(&mut *tx, &inv.org_id, user_id, role, now_ms()).await {
            Ok(()) => {}
            Err(e) if db::is_unique_violation(&e) => {}
            Err(e) => return Err(StoreError::from(e).into()),
        }
        db::orgs::delete_invitation(&mut *tx, id)
            .await
            .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        self.changes.bump();
        tracing::info!(org_id = %inv.org_id, user_id, "invitation accepted");
        Ok(self.as_member(user_id, &inv.org_handle).await?.into_dto())
    }

    pub async fn decline(&self, user_id: &str, id: &str) -> Result<(), ApiError> {
        self.own_invitation(user_id, id).await?;
        db::orgs::delete_invitation(&self.db.pool, id)
            .await
            .map_err(StoreError::from)?;
        Ok(())
    }

    /// The member's own choices about the organization's connections.
    pub async fn set_preferences(
        &self,
        user_id: &str,
        handle: &str,
        prefs: MembershipPrefsDto,
    ) -> Result<OrgDto, ApiError> {
        let org = self.as_member(user_id, handle).await?;
        db::orgs::set_preferences(
            &self.db.pool,
            &org.id,
            user_id,
            prefs.serve_unqualified.unwrap_or(org.serve_unqualified.0),
            prefs.trust_priorities.unwrap_or(org.trust_priorities.0),
        )
        .await
        .map_err(StoreError::from)?;
        self.changes.bump();
        Ok(self.as_member(user_id, handle).await?.into_dto())
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

fn invitation_dto(i: db::orgs::SqlInvitation) -> InvitationDto {
    InvitationDto {
        role: OrgRole::parse(&i.role).unwrap_or(OrgRole::Member),
        id: i.id,
        organization: i.org_handle,
        organization_name: i.org_name,
        email: i.email,
        invited_by: i.invited_by_handle,
        invited_at: crate::clock::rfc3339(i.created_at),
    }
}
