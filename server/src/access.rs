//! The one access rule: what a signed-in person may do with something owned by a user, an
//! organization or the platform. Connections, collections, aliases, the routing snapshot
//! and `/v1/models` all ask [`decide`]; none writes its own.
//!
//! | owner | the owner / org admin | org member | platform admin | anyone else |
//! |---|---|---|---|---|
//! | a user | edit | — | — (not even seen) | — |
//! | an organization | edit (admins) | use | — unless a member | — |
//! | the platform | edit (platform admins) | use | edit | use |
//!
//! "—" means not found: nobody learns that a thing they may not use exists.

use app::dto::OrgRole;

use crate::catalog::Actor;
use crate::db::{self, Db, StoreError};
use crate::error::ApiError;
use crate::orgs::OrgError;

/// Who owns a connection, collection or alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner<'a> {
    User(&'a str),
    Organization(&'a str),
    Platform,
}

impl<'a> Owner<'a> {
    /// A connection's owner from its `scope` (`individual`, `organization`, `platform`)
    /// and owner ids; `None` for a row that names no valid owner (nobody may use it).
    pub fn of_connection(
        scope: &str,
        owner_user_id: Option<&'a str>,
        owner_org_id: Option<&'a str>,
    ) -> Option<Self> {
        match scope {
            "individual" => owner_user_id.map(Owner::User),
            "organization" => owner_org_id.map(Owner::Organization),
            "platform" => Some(Owner::Platform),
            _ => None,
        }
    }

    /// A collection's or alias's owner from `owner_kind` (`user`, `organization`,
    /// `system`) and `owner_id`.
    pub fn of_kind(kind: &str, id: &'a str) -> Option<Self> {
        match kind {
            "user" => Some(Owner::User(id)),
            "organization" => Some(Owner::Organization(id)),
            "system" => Some(Owner::Platform),
            _ => None,
        }
    }

    pub fn organization(self) -> Option<&'a str> {
        match self {
            Owner::Organization(org) => Some(org),
            _ => None,
        }
    }
}

/// What a person may do with a thing, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Not even told it exists.
    None,
    /// Sees it and routes through it.
    Use,
    /// Changes, tests and deletes it.
    Edit,
}

impl Access {
    pub fn may_use(self) -> bool {
        self >= Access::Use
    }

    pub fn may_edit(self) -> bool {
        self == Access::Edit
    }
}

/// The rule. `role` is the person's accepted role in the owning organization (ignored for
/// other owners).
pub fn decide(user_id: &str, is_admin: bool, owner: Owner<'_>, role: Option<OrgRole>) -> Access {
    match owner {
        Owner::User(id) if id == user_id => Access::Edit,
        Owner::User(_) => Access::None,
        Owner::Organization(_) => match role {
            Some(OrgRole::Admin) => Access::Edit,
            Some(OrgRole::Member) => Access::Use,
            None => Access::None,
        },
        Owner::Platform if is_admin => Access::Edit,
        Owner::Platform => Access::Use,
    }
}

/// [`decide`] for `actor`, reading their role in the owning organization when it matters.
pub async fn of(db: &Db, actor: &Actor, owner: Option<Owner<'_>>) -> Result<Access, StoreError> {
    let Some(owner) = owner else {
        return Ok(Access::None);
    };
    let role = match owner.organization() {
        Some(org) => db::orgs::role_of(&db.pool, org, &actor.user_id)
            .await?
            .as_deref()
            .and_then(OrgRole::parse),
        None => None,
    };
    Ok(decide(&actor.user_id, actor.is_admin, owner, role))
}

/// [`of`], refused as `hidden()` when `actor` may not use the thing and as `read_only()`
/// when `edit` is asked of someone who may only use it.
pub async fn require<E: Into<ApiError>>(
    db: &Db,
    actor: &Actor,
    owner: Option<Owner<'_>>,
    edit: bool,
    hidden: impl FnOnce() -> E,
    read_only: impl FnOnce() -> E,
) -> Result<Access, ApiError> {
    let access = of(db, actor, owner).await?;
    if !access.may_use() {
        return Err(hidden().into());
    }
    if edit && !access.may_edit() {
        return Err(read_only().into());
    }
    Ok(access)
}

/// The organization `handle` names, for `actor` to create something in it: they must be
/// one of its admins ([`decide`] gives them [`Access::Edit`]). Not a member: not found.
pub async fn organization_to_own(
    db: &Db,
    actor: &Actor,
    handle: &str,
) -> Result<db::orgs::SqlOrgForMember, ApiError> {
    let org = db::orgs::find_for_member(&db.pool, handle, &actor.user_id)
        .await
        .map_err(StoreError::from)?
        .ok_or_else(|| OrgError::NotFound(handle.to_owned()))?;
    let role = OrgRole::parse(&org.role);
    if !decide(
        &actor.user_id,
        actor.is_admin,
        Owner::Organization(&org.id),
        role,
    )
    .may_edit()
    {
        return Err(OrgError::NotAdmin(org.handle).into());
    }
    Ok(org)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_in_the_module_doc() {
        let ada = "user_ada";
        let cases = [
            (Owner::User(ada), false, None, Access::Edit),
            (Owner::User("user_bob"), false, None, Access::None),
            (Owner::User("user_bob"), true, None, Access::None),
            (
                Owner::Organization("org"),
                false,
                Some(OrgRole::Admin),
                Access::Edit,
            ),
            (
                Owner::Organization("org"),
                false,
                Some(OrgRole::Member),
                Access::Use,
            ),
            (Owner::Organization("org"), false, None, Access::None),
            (Owner::Organization("org"), true, None, Access::None),
            (Owner::Platform, true, None, Access::Edit),
            (Owner::Platform, false, None, Access::Use),
        ];
        for (owner, admin, role, want) in cases {
            assert_eq!(
                decide(ada, admin, owner, role),
                want,
                "{owner:?} admin={admin} {role:?}"
            );
        }
    }

    #[test]
    fn rows_naming_no_valid_owner_are_nobody_s() {
        assert_eq!(Owner::of_connection("individual", None, None), None);
        assert_eq!(Owner::of_connection("team", Some("u"), None), None);
        assert_eq!(Owner::of_kind("group", "x"), None);
        assert_eq!(Owner::of_kind("system", "platform"), Some(Owner::Platform));
    }
}
