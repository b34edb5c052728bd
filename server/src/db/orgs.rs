//! Rows of `organizations` and `memberships`.

use sqlx::{Any, AnyPool, FromRow, Transaction};

use crate::clock::rfc3339;
use app::dto::{MemberDto, OrgDto, OrgRole};

#[derive(FromRow, Debug, Clone)]
pub struct SqlOrg {
    pub id: String,
    pub name: String,
    pub handle: String,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An organization joined with the caller's membership and the member count.
#[derive(FromRow, Debug, Clone)]
pub struct SqlOrgForMember {
    pub id: String,
    pub name: String,
    pub handle: String,
    pub role: String,
    pub member_count: i64,
    pub created_at: i64,
    #[sqlx(try_from = "i64")]
    pub serve_unqualified: crate::db::Flag,
    #[sqlx(try_from = "i64")]
    pub trust_priorities: crate::db::Flag,
}

impl SqlOrgForMember {
    pub fn into_dto(self) -> OrgDto {
        OrgDto {
            id: self.id,
            name: self.name,
            handle: self.handle,
            role: OrgRole::parse(&self.role).unwrap_or(OrgRole::Member),
            member_count: self.member_count,
            created_at: rfc3339(self.created_at),
            serve_unqualified: self.serve_unqualified.0,
            trust_priorities: self.trust_priorities.0,
        }
    }
}

#[derive(FromRow, Debug, Clone)]
pub struct SqlMember {
    pub user_id: String,
    pub email: String,
    pub handle: String,
    pub role: String,
    pub created_at: i64,
}

impl SqlMember {
    pub fn role(&self) -> OrgRole {
        OrgRole::parse(&self.role).unwrap_or(OrgRole::Member)
    }

    pub fn into_dto(self) -> MemberDto {
        MemberDto {
            role: self.role(),
            user_id: self.user_id,
            email: self.email,
            handle: self.handle,
            joined_at: rfc3339(self.created_at),
        }
    }
}

pub async fn insert(tx: &mut Transaction<'_, Any>, org: &SqlOrg) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO organizations (id, name, handle, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&org.id)
    .bind(&org.name)
    .bind(&org.handle)
    .bind(&org.created_by)
    .bind(org.created_at)
    .bind(org.updated_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn add_member<'e, E>(
    executor: E,
    org_id: &str,
    user_id: &str,
    role: OrgRole,
    now: i64,
) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    sqlx::query(
        "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(org_id)
    .bind(user_id)
    .bind(role.as_str())
    .bind(now)
    .execute(executor)
    .await?;
    Ok(())
}

pub async fn list_for_user(
    pool: &AnyPool,
    user_id: &str,
) -> Result<Vec<SqlOrgForMember>, sqlx::Error> {
    sqlx::query_as::<_, SqlOrgForMember>(
        "SELECT o.id, o.name, o.handle, m.role, \
                (SELECT COUNT(*) FROM memberships c WHERE c.org_id = o.id) AS member_count, \
                o.created_at, m.serve_unqualified, m.trust_priorities \
         FROM organizations o JOIN memberships m ON m.org_id = o.id \
         WHERE m.user_id = $1 ORDER BY o.handle",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await
}

pub async fn find_for_member(
    pool: &AnyPool,
    handle: &str,
    user_id: &str,
) -> Result<Option<SqlOrgForMember>, sqlx::Error> {
    sqlx::query_as::<_, SqlOrgForMember>(
        "SELECT o.id, o.name, o.handle, m.role, \
                (SELECT COUNT(*) FROM memberships c WHERE c.org_id = o.id) AS member_count, \
                o.created_at, m.serve_unqualified, m.trust_priorities \
         FROM organizations o JOIN memberships m ON m.org_id = o.id \
         WHERE o.handle = $1 AND m.user_id = $2",
    )
    .bind(handle)
    .bind(user_id)
    .fetch_optional(pool)
    .await
}

pub async fn members(pool: &AnyPool, org_id: &str) -> Result<Vec<SqlMember>, sqlx::Error> {
    sqlx::query_as::<_, SqlMember>(
        "SELECT u.id AS user_id, u.email, u.handle, m.role, m.created_at \
         FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = $1 ORDER BY u.handle",
    )
    .bind(org_id)
    .fetch_all(pool)
    .await
}

pub async fn member(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    user_id: &str,
) -> Result<Option<SqlMember>, sqlx::Error> {
    sqlx::query_as::<_, SqlMember>(
        "SELECT u.id AS user_id, u.email, u.handle, m.role, m.created_at \
         FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = $1 AND m.user_id = $2",
    )
    .bind(org_id)
    .bind(user_id)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn count_admins(tx: &mut Transaction<'_, Any>, org_id: &str) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'admin'")
            .bind(org_id)
            .fetch_one(&mut **tx)
            .await?;
    Ok(n)
}

pub async fn set_role(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    user_id: &str,
    role: OrgRole,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE memberships SET role = $1 WHERE org_id = $2 AND user_id = $3")
        .bind(role.as_str())
        .bind(org_id)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn remove_member(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    user_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
        .bind(org_id)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// `user_id`'s role in the organization with id `org_id`, if they are a member.
pub async fn role_of(
    pool: &AnyPool,
    org_id: &str,
    user_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
            .bind(org_id)
            .bind(user_id)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(role,)| role))
}

/// A membership as routing reads it.
#[derive(FromRow, Debug, Clone)]
pub struct SqlMembership {
    pub org_id: String,
    pub user_id: String,
    #[sqlx(try_from = "i64")]
    pub serve_unqualified: crate::db::Flag,
    #[sqlx(try_from = "i64")]
    pub trust_priorities: crate::db::Flag,
}

/// Every membership, for the routing snapshot.
pub async fn all_memberships(pool: &AnyPool) -> Result<Vec<SqlMembership>, sqlx::Error> {
    sqlx::query_as("SELECT org_id, user_id, serve_unqualified, trust_priorities FROM memberships")
        .fetch_all(pool)
        .await
}

/// A member's own choices about an organization's connections.
pub async fn set_preferences(
    pool: &AnyPool,
    org_id: &str,
    user_id: &str,
    serve_unqualified: bool,
    trust_priorities: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE memberships SET serve_unqualified = $1, trust_priorities = $2 \
         WHERE org_id = $3 AND user_id = $4",
    )
    .bind(i64::from(serve_unqualified))
    .bind(i64::from(trust_priorities))
    .bind(org_id)
    .bind(user_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// An invitation to an organization, with the organization's name and handle.
#[derive(FromRow, Debug, Clone)]
pub struct SqlInvitation {
    pub id: String,
    pub org_id: String,
    pub org_handle: String,
    pub org_name: String,
    pub email: String,
    pub role: String,
    pub invited_by_handle: String,
    pub created_at: i64,
}

macro_rules! invitation_select {
    () => {
        "SELECT i.id, i.org_id, o.handle AS org_handle, o.name AS org_name, i.email, i.role, \
                COALESCE(u.handle, '') AS invited_by_handle, i.created_at \
         FROM org_invitations i JOIN organizations o ON o.id = i.org_id \
         LEFT JOIN users u ON u.id = i.invited_by "
    };
}

/// Records an invitation; one already open for this email keeps its first copy.
pub async fn invite(
    pool: &AnyPool,
    inv: &SqlInvitation,
    invited_by: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO org_invitations (id, org_id, email, role, invited_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (org_id, email) DO NOTHING",
    )
    .bind(&inv.id)
    .bind(&inv.org_id)
    .bind(&inv.email)
    .bind(&inv.role)
    .bind(invited_by)
    .bind(inv.created_at)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn invitations_for_email(
    pool: &AnyPool,
    email: &str,
) -> Result<Vec<SqlInvitation>, sqlx::Error> {
    sqlx::query_as(concat!(
        invitation_select!(),
        "WHERE i.email = $1 ORDER BY i.created_at"
    ))
    .bind(email)
    .fetch_all(pool)
    .await
}

pub async fn invitations_of_org(
    pool: &AnyPool,
    org_id: &str,
) -> Result<Vec<SqlInvitation>, sqlx::Error> {
    sqlx::query_as(concat!(
        invitation_select!(),
        "WHERE i.org_id = $1 ORDER BY i.created_at"
    ))
    .bind(org_id)
    .fetch_all(pool)
    .await
}

pub async fn invitation(pool: &AnyPool, id: &str) -> Result<Option<SqlInvitation>, sqlx::Error> {
    sqlx::query_as(concat!(invitation_select!(), "WHERE i.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn delete_invitation<'e, E>(executor: E, id: &str) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    sqlx::query("DELETE FROM org_invitations WHERE id = $1")
        .bind(id)
        .execute(executor)
        .await?;
    Ok(())
}
