//! Model aliases: a user or organization maps a name that agents ask for (`claude-opus-4-5`,
//! `gpt-5-codex`, or a glob like `claude-*`) to any model reference (`collection/coding`,
//! `acme/anthropic/claude-sonnet-4-5`…). Routing resolves them before the grammar
//! ([`crate::routing::plan`]); here they are created, listed, changed and deleted.

use axum::http::StatusCode;

use crate::access::{self, Owner};
use crate::catalog::Actor;
use crate::changes::Changes;
use crate::clock::{now_ms, rfc3339};
use crate::db::{self, aliases::SqlAlias, Db, StoreError};
use crate::error::codes;
use crate::error::{ApiError, Coded};
use crate::ids::new_id;
use crate::routing::{catalog::RoutingCatalog, model_ref};
use app::dto::{AliasDto, AliasInputDto, OwnerDto};

const MAX_NAME: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum AliasError {
    #[error("Alias {0} not found")]
    NotFound(String),
    #[error("You may use this alias but not change it")]
    NotEditable,
    #[error("An alias named {0} already exists for this owner")]
    NameTaken(String),
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

impl Coded for AliasError {
    fn code(&self) -> &'static str {
        match self {
            AliasError::NotFound(_) => codes::ALIAS_NOT_FOUND,
            AliasError::NotEditable => codes::ACCESS_DENIED,
            AliasError::NameTaken(_) => codes::ALIAS_EXISTS,
            AliasError::Invalid { .. } => codes::INVALID_FIELD,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            AliasError::NotFound(_) => StatusCode::NOT_FOUND,
            AliasError::NotEditable => StatusCode::FORBIDDEN,
            AliasError::NameTaken(_) => StatusCode::CONFLICT,
            AliasError::Invalid { .. } => StatusCode::BAD_REQUEST,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            AliasError::Invalid { field, .. } => Some(field),
            AliasError::NameTaken(_) => Some("name"),
            _ => None,
        }
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> AliasError {
    AliasError::Invalid {
        field,
        message: message.into(),
    }
}

#[derive(Clone)]
pub struct Aliases {
    db: Db,
    routing: RoutingCatalog,
    changes: Changes,
}

impl Aliases {
    pub fn new(db: Db, routing: RoutingCatalog, changes: Changes) -> Self {
        Self {
            db,
            routing,
            changes,
        }
    }

    /// The caller's aliases and their organizations'.
    pub async fn list(&self, actor: &Actor) -> Result<Vec<AliasDto>, ApiError> {
        let rows = db::aliases::visible(&self.db.pool, &actor.user_id)
            .await
            .map_err(StoreError::from)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let can_edit = self.can_edit(actor, &row).await?;
            out.push(to_dto(row, can_edit));
        }
        Ok(out)
    }

    pub async fn create(&self, actor: &Actor, input: AliasInputDto) -> Result<AliasDto, ApiError> {
        let (owner_kind, owner_id) = match input.scope.as_deref().unwrap_or("individual") {
            "individual" | "user" => ("user", actor.user_id.clone()),
            "organization" => {
                let handle = input
                    .organization
                    .as_deref()
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .ok_or_else(|| {
                        invalid("organization", "Choose the organization that owns it")
                    })?;
                let org = access::organization_to_own(&self.db, actor, handle).await?;
                ("organization", org.id)
            }
            other => {
                return Err(invalid(
                    "scope",
                    format!("scope must be individual or organization, not {other:?}"),
                )
                .into())
            }
        };
        let (name, target, description) = self.check(&input).await?;
        let now = now_ms();
        let row = SqlAlias {
            id: new_id("alias"),
            owner_kind: owner_kind.to_owned(),
            owner_id,
            name,
            target,
            description,
            created_by: actor.user_id.clone(),
            created_at: now,
            updated_at: now,
            owner_handle: String::new(),
        };
        db::aliases::insert(&self.db.pool, &row)
            .await
            .map_err(|e| unique_violation(e, &row.name))?;
        self.changes.bump();
        self.get(actor, &row.id).await
    }

    pub async fn get(&self, actor: &Actor, id: &str) -> Result<AliasDto, ApiError> {
        let (row, can_edit) = self.load(actor, id, false).await?;
        Ok(to_dto(row, can_edit))
    }

    pub async fn update(
        &self,
        actor: &Actor,
        id: &str,
        input: AliasInputDto,
    ) -> Result<AliasDto, ApiError> {
        let (mut row, _) = self.load(actor, id, true).await?;
        if input.scope.is_some() || input.organization.is_some() {
            return Err(invalid("scope", "The owner of an alias cannot be changed").into());
        }
        let (name, target, description) = self.check(&input).await?;
        row.name = name;
        row.target = target;
        row.description = description;
        row.updated_at = now_ms();
        db::aliases::update(&self.db.pool, &row)
            .await
            .map_err(|e| unique_violation(e, &row.name))?;
        self.changes.bump();
        self.get(actor, id).await
    }

    pub async fn delete(&self, actor: &Actor, id: &str) -> Result<(), ApiError> {
        self.load(actor, id, true).await?;
        db::aliases::delete(&self.db.pool, id)
            .await
            .map_err(StoreError::from)?;
        self.changes.bump();
        Ok(())
    }

    async fn load(
        &self,
        actor: &Actor,
        id: &str,
        edit: bool,
    ) -> Result<(SqlAlias, bool), ApiError> {
        let row = db::aliases::find(&self.db.pool, id)
            .await
            .map_err(StoreError::from)?
            .ok_or_else(|| AliasError::NotFound(id.to_owned()))?;
        let access = access::require(
            &self.db,
            actor,
            Owner::of_kind(&row.owner_kind, &row.owner_id),
            edit,
            || AliasError::NotFound(id.to_owned()),
            || AliasError::NotEditable,
        )
        .await?;
        Ok((row, access.may_edit()))
    }

    async fn can_edit(&self, actor: &Actor, row: &SqlAlias) -> Result<bool, ApiError> {
        let owner = Owner::of_kind(&row.owner_kind, &row.owner_id);
        Ok(access::of(&self.db, actor, owner).await?.may_edit())
    }

    /// The name (exact, or a glob with `*`), the target (a well-formed model reference
    /// that is not itself an alias name) and the description.
    async fn check(&self, input: &AliasInputDto) -> Result<(String, String, String), AliasError> {
        let name = input.name.trim().to_owned();
        let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.:/@*()".contains(c);
        if name.is_empty() || name.len() > MAX_NAME || !name.chars().all(allowed) {
            return Err(invalid(
                "name",
                format!("The name must be 1–{MAX_NAME} characters of letters, digits and - _ . : / @ ( ), with * as a wildcard"),
            ));
        }
        if name.chars().all(|c| c == '*') {
            return Err(invalid(
                "name",
                "A name of wildcards only would capture every model",
            ));
        }
        let target = input.target.trim().to_owned();
        if target.is_empty() {
            return Err(invalid(
                "target",
                "Name the model reference the alias stands for",
            ));
        }
        if target.contains('*') {
            return Err(invalid(
                "target",
                "The target is one model reference, without wildcards",
            ));
        }
        if crate::routing::catalog::glob_match(&name, &target) {
            return Err(invalid("target", "The target would match the alias itself"));
        }
        let snapshot = self
            .routing
            .snapshot()
            .await
            .map_err(|e| invalid("target", e.public_message()))?;
        model_ref::parse(
            &target,
            |h| snapshot.handles.contains_key(h),
            |p| snapshot.provider_keys.contains(p),
        )
        .map_err(|e| invalid("target", e.to_string()))?;
        let description = input
            .description
            .clone()
            .unwrap_or_default()
            .trim()
            .to_owned();
        if description.len() > 500 {
            return Err(invalid("description", "At most 500 characters"));
        }
        Ok((name, target, description))
    }
}

fn to_dto(row: SqlAlias, can_edit: bool) -> AliasDto {
    AliasDto {
        owner: OwnerDto {
            kind: row.owner_kind.clone(),
            id: Some(row.owner_id.clone()),
            handle: row.owner_handle.clone(),
        },
        glob: row.name.contains('*'),
        id: row.id,
        name: row.name,
        target: row.target,
        description: row.description,
        can_edit,
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
    }
}

/// Two saves racing for one name: the unique index decides; the loser gets 409.
fn unique_violation(err: sqlx::Error, name: &str) -> ApiError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            AliasError::NameTaken(name.to_owned()).into()
        }
        _ => StoreError::from(err).into(),
    }
}
