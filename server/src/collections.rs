//! Model collections: named, ordered groups of model references with a routing strategy,
//! owned by a user, an organization (admins edit, members use) or the platform (system
//! collections, edited by platform admins, called as `auto(NAME)`). Also the model prices
//! `cost_optimized` reads.

use std::collections::HashSet;

use axum::http::StatusCode;

use crate::access::{self, Owner};
use crate::catalog::Actor;
use crate::changes::Changes;
use crate::clock::{now_ms, rfc3339};
use crate::db::{self, collections::SqlCollection, collections::SqlPrice, Db, StoreError};
use crate::error::codes;
use crate::error::{ApiError, Coded};
use crate::ids::new_id;
use crate::routing::{self, catalog::RoutingCatalog, model_ref, strategy::Strategy, Viewer};
use app::dto::{
    CollectionDto, CollectionInputDto, CollectionMemberDto, ModelConnectionDto, ModelRowDto,
    OwnerDto, PriceDto, ReachableModelDto,
};

const MAX_MEMBERS: usize = 50;
const MAX_NAME: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum CollectionError {
    #[error("Collection {0} not found")]
    NotFound(String),
    #[error("You may use this collection but not change it")]
    NotEditable,
    #[error("Only platform administrators may do this")]
    AdminOnly,
    #[error("A collection named {0} already exists for this owner")]
    NameTaken(String),
    #[error("auto(free) is built in and cannot be deleted or renamed")]
    BuiltIn,
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

impl Coded for CollectionError {
    fn code(&self) -> &'static str {
        match self {
            CollectionError::NotFound(_) => codes::COLLECTION_NOT_FOUND,
            CollectionError::NotEditable | CollectionError::AdminOnly => codes::ACCESS_DENIED,
            CollectionError::NameTaken(_) => codes::COLLECTION_EXISTS,
            CollectionError::BuiltIn => codes::COLLECTION_BUILT_IN,
            CollectionError::Invalid { .. } => codes::INVALID_FIELD,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            CollectionError::NotFound(_) => StatusCode::NOT_FOUND,
            CollectionError::NotEditable | CollectionError::AdminOnly => StatusCode::FORBIDDEN,
            CollectionError::NameTaken(_) => StatusCode::CONFLICT,
            CollectionError::BuiltIn | CollectionError::Invalid { .. } => StatusCode::BAD_REQUEST,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            CollectionError::Invalid { field, .. } => Some(field),
            CollectionError::NameTaken(_) | CollectionError::BuiltIn => Some("name"),
            _ => None,
        }
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> CollectionError {
    CollectionError::Invalid {
        field,
        message: message.into(),
    }
}

#[derive(Clone)]
pub struct Collections {
    db: Db,
    routing: RoutingCatalog,
    changes: Changes,
}

/// A validated input: members as (reference, weight).
struct Checked {
    name: String,
    description: String,
    strategy: Strategy,
    members: Vec<(String, Option<f64>)>,
    max_price_usd: Option<f64>,
}

impl Collections {
    pub fn new(db: Db, routing: RoutingCatalog, changes: Changes) -> Self {
        Self {
            db,
            routing,
            changes,
        }
    }

    pub async fn list(&self, actor: &Actor) -> Result<Vec<CollectionDto>, ApiError> {
        let rows = db::collections::visible(&self.db.pool, &actor.user_id)
            .await
            .map_err(StoreError::from)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let can_edit = self.can_edit(actor, &row).await?;
            out.push(self.to_dto(row, can_edit).await?);
        }
        Ok(out)
    }

    pub async fn get(&self, actor: &Actor, id: &str) -> Result<CollectionDto, ApiError> {
        let (row, can_edit) = self.load(actor, id, false).await?;
        self.to_dto(row, can_edit).await
    }

    pub async fn create(
        &self,
        actor: &Actor,
        input: CollectionInputDto,
    ) -> Result<CollectionDto, ApiError> {
        let (owner_kind, owner_id, viewer) = match input.scope.as_deref().unwrap_or("individual") {
            "individual" | "user" => (
                "user",
                actor.user_id.clone(),
                Viewer::User(actor.user_id.clone()),
            ),
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
                ("organization", org.id.clone(), Viewer::Organization(org.id))
            }
            "system" | "platform" if actor.is_admin => {
                ("system", "platform".to_owned(), Viewer::Platform)
            }
            "system" | "platform" => return Err(CollectionError::AdminOnly.into()),
            other => {
                return Err(invalid(
                    "scope",
                    format!("scope must be individual, organization or system, not {other:?}"),
                )
                .into())
            }
        };
        let checked = self.check(input, &viewer, None).await?;
        if db::collections::find_by_name(&self.db.pool, &owner_id, &checked.name)
            .await
            .map_err(StoreError::from)?
            .is_some()
        {
            return Err(CollectionError::NameTaken(checked.name).into());
        }
        let now = now_ms();
        let row = SqlCollection {
            id: new_id("col"),
            name: checked.name,
            description: checked.description,
            strategy: checked.strategy.as_str().to_owned(),
            owner_kind: owner_kind.to_owned(),
            owner_id,
            created_by: actor.user_id.clone(),
            created_at: now,
            updated_at: now,
            max_price_usd: checked.max_price_usd,
            owner_handle: String::new(),
        };
        let mut tx = self.db.pool.begin().await.map_err(StoreError::from)?;
        db::collections::insert(&mut tx, &row)
            .await
            .map_err(|e| unique_violation(e, &row.name))?;
        db::collections::replace_members(&mut tx, &row.id, &checked.members)
            .await
            .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        self.changes.bump();
        self.get(actor, &row.id).await
    }

    pub async fn update(
        &self,
        actor: &Actor,
        id: &str,
        input: CollectionInputDto,
    ) -> Result<CollectionDto, ApiError> {
        let (mut row, _) = self.load(actor, id, true).await?;
        if input.scope.is_some() || input.organization.is_some() {
            return Err(invalid("scope", "The owner of a collection cannot be changed").into());
        }
        let viewer = viewer_of(&row);
        let checked = self.check(input, &viewer, Some(&row)).await?;
        if row.owner_kind == "system" && row.name == "free" && checked.name != "free" {
            return Err(CollectionError::BuiltIn.into());
        }
        if checked.name != row.name
            && db::collections::find_by_name(&self.db.pool, &row.owner_id, &checked.name)
                .await
                .map_err(StoreError::from)?
                .is_some()
        {
            return Err(CollectionError::NameTaken(checked.name).into());
        }
        row.name = checked.name;
        row.description = checked.description;
        row.strategy = checked.strategy.as_str().to_owned();
        row.max_price_usd = checked.max_price_usd;
        row.updated_at = now_ms();
        let mut tx = self.db.pool.begin().await.map_err(StoreError::from)?;
        db::collections::update(&mut tx, &row)
            .await
            .map_err(|e| unique_violation(e, &row.name))?;
        db::collections::replace_members(&mut tx, &row.id, &checked.members)
            .await
            .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        self.changes.bump();
        self.get(actor, id).await
    }

    pub async fn delete(&self, actor: &Actor, id: &str) -> Result<(), ApiError> {
        let (row, _) = self.load(actor, id, true).await?;
        if row.owner_kind == "system" && row.name == "free" {
            return Err(CollectionError::BuiltIn.into());
        }
        db::collections::delete(&self.db.pool, id)
            .await
            .map_err(StoreError::from)?;
        self.changes.bump();
        Ok(())
    }

    /// Every `provider/model` the caller can route to, for the member picker.
    pub async fn reachable_models(
        &self,
        actor: &Actor,
    ) -> Result<Vec<ReachableModelDto>, ApiError> {
        let snapshot = self.routing.snapshot().await?;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for route in snapshot
            .routes
            .iter()
            .filter(|r| snapshot.may_use(&actor.user_id, r))
        {
            let owner_handle = owner_handle(&snapshot, route);
            let mut models: Vec<&String> = route.models.keys().collect();
            models.sort();
            for model in models {
                let reference = format!("{}/{model}", route.provider_key);
                let pinned = owner_handle
                    .as_ref()
                    .map(|h| format!("{h}/{reference}"))
                    .unwrap_or_else(|| reference.clone());
                if seen.insert(pinned.clone()) {
                    out.push(ReachableModelDto {
                        reference,
                        pinned,
                        connection_name: route.name.clone(),
                    });
                }
            }
        }
        out.sort_by(|a, b| a.reference.cmp(&b.reference).then(a.pinned.cmp(&b.pinned)));
        Ok(out)
    }

    /// Every model `actor` can route to (enabled on a connection they may use), with the
    /// connections serving it, its price and whether it is free: the console's Models page.
    pub async fn models(&self, actor: &Actor) -> Result<Vec<ModelRowDto>, ApiError> {
        let snapshot = self.routing.snapshot().await?;
        let mut rows: std::collections::BTreeMap<(String, String), ModelRowDto> =
            std::collections::BTreeMap::new();
        for route in snapshot
            .routes
            .iter()
            .filter(|r| snapshot.may_use(&actor.user_id, r))
        {
            let owner_handle = owner_handle(&snapshot, route);
            for (model, _) in route.models.iter().filter(|(_, enabled)| **enabled) {
                let reference = format!("{}/{model}", route.provider_key);
                let row = rows
                    .entry((route.provider_key.clone(), model.clone()))
                    .or_insert_with(|| {
                        let price = snapshot.price(&route.provider_key, model);
                        ModelRowDto {
                            reference: reference.clone(),
                            provider: route.provider_key.clone(),
                            connections: Vec::new(),
                            input_per_mtok: price.map(|p| p.input_per_mtok),
                            output_per_mtok: price.map(|p| p.output_per_mtok),
                            free: snapshot.is_free(&route.provider_key, model),
                        }
                    });
                row.connections.push(ModelConnectionDto {
                    name: route.name.clone(),
                    pinned: owner_handle
                        .as_ref()
                        .map_or_else(|| reference.clone(), |h| format!("{h}/{reference}")),
                    scope: route.scope.clone(),
                    status: route.status.clone(),
                });
            }
        }
        Ok(rows
            .into_values()
            .map(|mut row| {
                row.connections.sort_by(|a, b| a.name.cmp(&b.name));
                row
            })
            .collect())
    }

    pub async fn prices(&self) -> Result<Vec<PriceDto>, ApiError> {
        Ok(db::collections::prices(&self.db.pool)
            .await
            .map_err(StoreError::from)?
            .into_iter()
            .map(|p| PriceDto {
                provider: p.provider_key,
                model: p.model_id,
                input_per_mtok: p.input_per_mtok,
                output_per_mtok: p.output_per_mtok,
                cached_input_per_mtok: p.cached_input_per_mtok,
                cache_write_per_mtok: p.cache_write_per_mtok,
            })
            .collect())
    }

    /// Sets a model's price (platform administrators: prices apply to everyone's routing).
    pub async fn set_price(&self, actor: &Actor, price: PriceDto) -> Result<PriceDto, ApiError> {
        if !actor.is_admin {
            return Err(CollectionError::AdminOnly.into());
        }
        let provider = price.provider.trim().to_owned();
        let model = price.model.trim().to_owned();
        if provider.is_empty() {
            return Err(invalid("provider", "Name the provider (its key, e.g. openai)").into());
        }
        if model.is_empty() {
            return Err(invalid("model", "Name the model").into());
        }
        for (field, value) in [
            ("input_per_mtok", Some(price.input_per_mtok)),
            ("output_per_mtok", Some(price.output_per_mtok)),
            ("cached_input_per_mtok", price.cached_input_per_mtok),
            ("cache_write_per_mtok", price.cache_write_per_mtok),
        ] {
            let Some(value) = value else { continue };
            if !value.is_finite() || !(0.0..=10_000.0).contains(&value) {
                return Err(invalid(
                    field,
                    format!("{field} must be between 0 and 10000 USD per million tokens"),
                )
                .into());
            }
        }
        db::collections::upsert_price(
            &self.db.pool,
            &SqlPrice {
                provider_key: provider.clone(),
                model_id: model.clone(),
                input_per_mtok: price.input_per_mtok,
                output_per_mtok: price.output_per_mtok,
                cached_input_per_mtok: price.cached_input_per_mtok,
                cache_write_per_mtok: price.cache_write_per_mtok,
                updated_at: now_ms(),
            },
        )
        .await
        .map_err(StoreError::from)?;
        self.changes.bump();
        Ok(PriceDto {
            provider,
            model,
            ..price
        })
    }

    pub async fn delete_price(
        &self,
        actor: &Actor,
        provider: &str,
        model: &str,
    ) -> Result<(), ApiError> {
        if !actor.is_admin {
            return Err(CollectionError::AdminOnly.into());
        }
        if !db::collections::delete_price(&self.db.pool, provider, model)
            .await
            .map_err(StoreError::from)?
        {
            return Err(invalid("model", format!("No price is set for {provider}/{model}")).into());
        }
        self.changes.bump();
        Ok(())
    }

    /// Loads a collection the actor can see (others get 404); `edit` also requires the right
    /// to change it.
    async fn load(
        &self,
        actor: &Actor,
        id: &str,
        edit: bool,
    ) -> Result<(SqlCollection, bool), ApiError> {
        let row = db::collections::find(&self.db.pool, id)
            .await
            .map_err(StoreError::from)?
            .ok_or_else(|| CollectionError::NotFound(id.to_owned()))?;
        let access = access::require(
            &self.db,
            actor,
            Owner::of_kind(&row.owner_kind, &row.owner_id),
            edit,
            || CollectionError::NotFound(id.to_owned()),
            || CollectionError::NotEditable,
        )
        .await?;
        Ok((row, access.may_edit()))
    }

    async fn can_edit(&self, actor: &Actor, row: &SqlCollection) -> Result<bool, ApiError> {
        let owner = Owner::of_kind(&row.owner_kind, &row.owner_id);
        Ok(access::of(&self.db, actor, owner).await?.may_edit())
    }

    /// Validates a create or update: name, strategy, and every member resolving for the
    /// owner, without duplicates and without collections inside collections.
    async fn check(
        &self,
        input: CollectionInputDto,
        viewer: &Viewer,
        existing: Option<&SqlCollection>,
    ) -> Result<Checked, ApiError> {
        let name = input.name.trim().to_owned();
        if name.is_empty()
            || name.len() > MAX_NAME
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(invalid(
                "name",
                format!("The name must be 1–{MAX_NAME} characters of a-z, 0-9 and -"),
            )
            .into());
        }
        let strategy = Strategy::parse(input.strategy.trim()).ok_or_else(|| {
            invalid(
                "strategy",
                format!(
                    "strategy must be one of {}",
                    Strategy::ALL.map(Strategy::as_str).join(", ")
                ),
            )
        })?;
        if input
            .max_price_usd
            .is_some_and(|p| !p.is_finite() || p <= 0.0 || p > 1e6)
        {
            return Err(invalid(
                "max_price_usd",
                "max_price_usd must be above 0 and at most 1000000",
            )
            .into());
        }
        let dynamic = existing.is_some_and(|r| r.owner_kind == "system" && r.name == "free");
        if input.models.is_empty() && !dynamic {
            return Err(invalid("models", "Add at least one model").into());
        }
        if input.models.len() > MAX_MEMBERS {
            return Err(invalid("models", format!("At most {MAX_MEMBERS} models")).into());
        }
        let snapshot = self.routing.snapshot().await?;
        let mut seen = HashSet::new();
        let mut members = Vec::with_capacity(input.models.len());
        for (i, member) in input.models.into_iter().enumerate() {
            let CollectionMemberDto { model, weight } = member.into_member();
            let model = model.trim().to_owned();
            let n = i + 1;
            if model.is_empty() {
                return Err(invalid("models", format!("Model {n} is empty")).into());
            }
            if let Some(w) = weight {
                if !w.is_finite() || w <= 0.0 || w > 1000.0 {
                    return Err(invalid(
                        "models",
                        format!("Model {n} ({model}): weight must be above 0 and at most 1000"),
                    )
                    .into());
                }
            }
            if !seen.insert(model.clone()) {
                return Err(invalid(
                    "models",
                    format!("Model {n} ({model}) is already in the collection"),
                )
                .into());
            }
            let is_collection = model_ref::parse(&model, |_| false, |_| false).is_ok_and(|r| {
                matches!(
                    r,
                    model_ref::ModelRef::Auto(_) | model_ref::ModelRef::Collection { .. }
                )
            });
            if is_collection {
                return Err(invalid(
                    "models",
                    format!(
                        "Model {n} ({model}) is a collection; a collection cannot contain itself or other collections"
                    ),
                )
                .into());
            }
            if let Err(e) = routing::resolves_for(&snapshot, viewer, &model) {
                return Err(invalid(
                    "models",
                    format!("Model {n} ({model}) does not resolve for this owner: {e}"),
                )
                .into());
            }
            members.push((model, weight));
        }
        Ok(Checked {
            name,
            description: input.description.unwrap_or_default().trim().to_owned(),
            strategy,
            members,
            max_price_usd: input.max_price_usd,
        })
    }

    async fn to_dto(&self, row: SqlCollection, can_edit: bool) -> Result<CollectionDto, ApiError> {
        let models = db::collections::members_of(&self.db.pool, &row.id)
            .await
            .map_err(StoreError::from)?
            .into_iter()
            .map(|m| CollectionMemberDto {
                model: m.model_ref,
                weight: m.weight,
            })
            .collect();
        let dynamic = row.owner_kind == "system" && row.name == "free";
        let (kind, id) = match row.owner_kind.as_str() {
            "user" => ("user", Some(row.owner_id.clone())),
            "organization" => ("organization", Some(row.owner_id.clone())),
            _ => ("system", None),
        };
        let reference = if kind == "system" {
            format!("auto({})", row.name)
        } else {
            format!("collection/{}/{}", row.owner_handle, row.name)
        };
        Ok(CollectionDto {
            id: row.id,
            name: row.name,
            description: row.description,
            strategy: row.strategy,
            owner: OwnerDto {
                kind: kind.to_owned(),
                id,
                handle: row.owner_handle,
            },
            reference,
            models,
            dynamic,
            can_edit,
            created_at: rfc3339(row.created_at),
            updated_at: rfc3339(row.updated_at),
            max_price_usd: row.max_price_usd,
        })
    }
}

fn viewer_of(row: &SqlCollection) -> Viewer {
    match row.owner_kind.as_str() {
        "user" => Viewer::User(row.owner_id.clone()),
        "organization" => Viewer::Organization(row.owner_id.clone()),
        _ => Viewer::Platform,
    }
}

/// Two saves racing for one name: the unique index decides; the loser gets 409.
fn unique_violation(err: sqlx::Error, name: &str) -> ApiError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            CollectionError::NameTaken(name.to_owned()).into()
        }
        _ => StoreError::from(err).into(),
    }
}

/// The handle of a connection's owner (user or organization), for pinned references.
fn owner_handle(
    snapshot: &routing::catalog::Snapshot,
    route: &routing::catalog::Route,
) -> Option<String> {
    snapshot
        .handles
        .iter()
        .find(|(_, owner)| match owner {
            routing::catalog::Owner::User(id) => {
                route.owner_user_id.as_deref() == Some(id.as_str())
            }
            routing::catalog::Owner::Organization(id) => {
                route.owner_org_id.as_deref() == Some(id.as_str())
            }
        })
        .map(|(h, _)| h.clone())
}
