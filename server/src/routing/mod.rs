//! Routing: from a model reference to an ordered list of candidate connections.
//! Direct references: higher `prefer_score`, then scope (individual, organization,
//! platform), then lower observed latency. Collections: each member resolves like a direct
//! reference, then the collection's strategy orders the candidates. Skipped, with the
//! reason: inactive, error, rate-limited in its cool-down, model disabled, daily quota
//! used. Budgets (rpm/tpm/rpd) are checked again when a candidate is tried.

pub mod catalog;
pub mod model_ref;
pub mod strategy;

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use axum::http::StatusCode;
use rand::Rng;

use crate::error::codes;
use crate::error::Coded;
use crate::limits::Limiter;
use catalog::{Collection, CollectionOwner, Owner, Route, Snapshot};
use model_ref::{ModelRef, ModelRefError};
use strategy::{Cursors, Group, Rated, Strategy};

/// One connection considered, for `explain` and for error messages.
pub type Considered = app::dto::CandidateDto;

#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    #[error("Invalid model: {0}")]
    InvalidModel(#[from] ModelRefError),
    #[error("{0}")]
    ModelNotFound(String),
    #[error("You are not {0} and not a member of it")]
    AccessDenied(String),
    #[error("{0}")]
    CollectionNotFound(String),
    #[error("{0}")]
    AmbiguousCollection(String),
}

impl Coded for RoutingError {
    fn code(&self) -> &'static str {
        match self {
            RoutingError::InvalidModel(_) => codes::INVALID_MODEL,
            RoutingError::ModelNotFound(_) => codes::MODEL_NOT_FOUND,
            RoutingError::AccessDenied(_) => codes::ACCESS_DENIED,
            RoutingError::CollectionNotFound(_) => codes::COLLECTION_NOT_FOUND,
            RoutingError::AmbiguousCollection(_) => codes::AMBIGUOUS_COLLECTION,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            RoutingError::InvalidModel(_) | RoutingError::AmbiguousCollection(_) => {
                StatusCode::BAD_REQUEST
            }
            RoutingError::ModelNotFound(_) | RoutingError::CollectionNotFound(_) => {
                StatusCode::NOT_FOUND
            }
            RoutingError::AccessDenied(_) => StatusCode::FORBIDDEN,
        }
    }
}

/// Whose point of view a reference resolves from: a caller, or the owner of a collection
/// being validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    User(String),
    Organization(String),
    Platform,
}

impl Viewer {
    fn may_use(&self, snapshot: &Snapshot, route: &Route) -> bool {
        match self {
            Viewer::User(id) => snapshot.may_use(id, route),
            Viewer::Organization(org) => {
                route.scope == "platform" || route.owner_org_id.as_deref() == Some(org.as_str())
            }
            Viewer::Platform => route.scope == "platform",
        }
    }

    fn reaches(&self, snapshot: &Snapshot, owner: &Owner) -> bool {
        match (self, owner) {
            (Viewer::User(id), _) => snapshot.owns_or_belongs(id, owner),
            (Viewer::Organization(org), Owner::Organization(o)) => org == o,
            _ => false,
        }
    }
}

/// The size of the request, for cost estimates.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestSize {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub stream: bool,
    /// The request's prompt as JSON text, in bytes: more than its tokens can be (a token
    /// is at least a byte), so what a budget reserves for it.
    pub prompt_bytes: u64,
    /// The output maximum the request set, if it set one.
    pub max_output: Option<u64>,
}

/// Everything besides the snapshot that routing reads.
pub struct Context<'a> {
    pub limiter: &'a Limiter,
    pub cursors: &'a Cursors,
    pub now_ms: i64,
    pub request: RequestSize,
    /// `explain`: no round-robin step, no exploration.
    pub dry_run: bool,
    /// A round-robin position to use instead of this process's own (the replicas'
    /// shared one).
    pub cursor: Option<u64>,
}

pub struct Candidate {
    pub route: Arc<Route>,
    pub upstream_model: String,
}

pub struct Plan {
    pub reference: ModelRef,
    /// How the request was resolved, as `x-langmart-resolution` and the request log say it
    /// (`alias` when an alias named the reference).
    pub resolution: &'static str,
    /// The alias that turned the model string into the reference, described.
    pub alias: Option<String>,
    /// The reference that alias named (what a key's allow-list is held against: an
    /// alias's own name says nothing about where it leads).
    pub alias_target: Option<String>,
    /// Why routing did something not obvious from the reference (a dated model variant).
    pub notes: Vec<String>,
    pub collection: Option<Arc<Collection>>,
    /// How the strategy ordered the candidates, in words.
    pub order: Option<String>,
    pub candidates: Vec<Candidate>,
    pub considered: Vec<Considered>,
}

/// A route serving the wanted model, as resolution finds it.
struct Match {
    route: Arc<Route>,
    enabled: bool,
    model: String,
}

/// A match with what the strategies and `explain` need to know.
struct Scored {
    m: Match,
    member: Option<String>,
    reason: Option<String>,
    over: Option<String>,
    headroom: crate::limits::Headroom,
    rpd_remaining: Option<i64>,
    cost: Option<f64>,
    latency: Option<f64>,
}

impl Rated for Scored {
    fn usable(&self) -> bool {
        self.reason.is_none() && self.over.is_none()
    }
    fn cost(&self) -> Option<f64> {
        self.cost
    }
    fn latency(&self) -> Option<f64> {
        self.latency
    }
}

/// Why a route cannot take requests now, if it cannot.
/// Why a self-hosted connection is skipped while no agent of its gateway is connected.
pub const GATEWAY_DOWN: &str = "gateway disconnected (no agent of its gateway is connected)";

fn unusable(route: &Route, model_enabled: bool, now_ms: i64) -> Option<String> {
    if route.gateway_down() {
        return Some(GATEWAY_DOWN.into());
    }
    match route.status.as_str() {
        "inactive" => return Some("inactive (disabled by a person)".into()),
        "error" => return Some("error (failed its last check)".into()),
        "rate_limited" if route.cooldown_until.is_some_and(|t| t > now_ms) => {
            return Some("rate-limited by the provider, cooling down".into())
        }
        _ => {}
    }
    (!model_enabled).then(|| "model disabled".into())
}

fn parse(snapshot: &Snapshot, model: &str) -> Result<ModelRef, ModelRefError> {
    model_ref::parse(
        model,
        |h| snapshot.handles.contains_key(h),
        |p| snapshot.provider_keys.contains(p),
    )
}

pub fn plan(
    snapshot: &Snapshot,
    user_id: &str,
    model: &str,
    ctx: &Context<'_>,
) -> Result<Plan, RoutingError> {
    // Aliases resolve before the grammar: agents ask for fixed names.
    let alias = snapshot.alias_for(user_id, model);
    let model = alias.as_ref().map_or(model, |a| a.target.as_str());
    let mut plan =
        plan_reference(snapshot, user_id, model, ctx).map_err(|e| match (&alias, e) {
            (Some(a), RoutingError::ModelNotFound(m)) => {
                RoutingError::ModelNotFound(format!("{m} (via the alias {})", a.describe()))
            }
            (_, e) => e,
        })?;
    if let Some(a) = alias {
        plan.resolution = "alias";
        plan.alias = Some(a.describe());
        plan.alias_target = Some(a.target.clone());
    }
    Ok(plan)
}

fn plan_reference(
    snapshot: &Snapshot,
    user_id: &str,
    model: &str,
    ctx: &Context<'_>,
) -> Result<Plan, RoutingError> {
    let reference = parse(snapshot, model)?;
    let mut notes = Vec::new();
    let viewer = Viewer::User(user_id.to_owned());
    let collection = match &reference {
        ModelRef::Auto(name) => Some(
            snapshot
                .collection(&CollectionOwner::System, name)
                .ok_or_else(|| {
                    RoutingError::CollectionNotFound(format!(
                        "No system collection named auto({name})"
                    ))
                })?,
        ),
        ModelRef::Collection { owner, name } => {
            Some(find_collection(snapshot, user_id, owner.as_deref(), name)?)
        }
        _ => None,
    };
    let Some(collection) = collection else {
        let mut matching = matches(snapshot, &viewer, &reference, model, &mut notes)?;
        sort_by_priority(snapshot, &viewer, &mut matching, ctx.limiter, &mut notes);
        let scored = matching
            .into_iter()
            .map(|m| score(snapshot, m, None, ctx))
            .collect();
        return Ok(finish(reference, None, None, scored, notes, ctx.dry_run));
    };

    let mut seen = HashSet::new();
    let mut groups = Vec::new();
    for (member, weight) in members(snapshot, &viewer, &collection) {
        let Ok(member_ref) = parse(snapshot, &member) else {
            continue;
        };
        if matches!(member_ref, ModelRef::Auto(_) | ModelRef::Collection { .. }) {
            continue;
        }
        // A member that resolves to nothing for this caller is simply not a candidate.
        let Ok(mut matching) = matches(snapshot, &viewer, &member_ref, &member, &mut notes) else {
            continue;
        };
        sort_by_priority(snapshot, &viewer, &mut matching, ctx.limiter, &mut notes);
        let items: Vec<Scored> = matching
            .into_iter()
            .filter(|m| seen.insert((m.route.id.clone(), m.model.clone())))
            .map(|m| score(snapshot, m, Some(member.clone()), ctx))
            .map(|s| within_max_price(snapshot, s, collection.max_price_usd, ctx))
            .collect();
        if !items.is_empty() {
            groups.push(Group { weight, items });
        }
    }
    if groups.is_empty() {
        return Err(RoutingError::ModelNotFound(format!(
            "No member of {} resolves to a connection you may use",
            collection.reference()
        )));
    }
    let cursor = if collection.strategy == Strategy::RoundRobin {
        ctx.cursor
            .unwrap_or_else(|| ctx.cursors.next(&collection.id, ctx.dry_run))
    } else {
        0
    };
    let mut rng = rand::thread_rng();
    let explore = !ctx.dry_run && rng.gen_bool(strategy::EXPLORATION);
    let (ordered, note) = strategy::order(collection.strategy, groups, cursor, explore, &mut rng);
    Ok(finish(
        reference,
        Some(collection),
        Some(note),
        ordered,
        notes,
        ctx.dry_run,
    ))
}

/// A collection's members as (reference, weight); `auto(free)` adds the models of free
/// providers and zero-priced models the viewer can reach.
fn members(snapshot: &Snapshot, viewer: &Viewer, collection: &Collection) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = collection
        .members
        .iter()
        .map(|m| (m.reference.clone(), m.weight))
        .collect();
    if collection.is_free() {
        let mut dynamic: Vec<String> = Vec::new();
        for route in snapshot
            .routes
            .iter()
            .filter(|r| viewer.may_use(snapshot, r))
        {
            for model in route.models.keys() {
                if snapshot.is_free(&route.provider_key, model) {
                    dynamic.push(format!("{}/{model}", route.provider_key));
                }
            }
        }
        dynamic.sort();
        dynamic.dedup();
        for d in dynamic {
            if !out.iter().any(|(r, _)| *r == d) {
                out.push((d, 1.0));
            }
        }
    }
    out
}

fn find_collection(
    snapshot: &Snapshot,
    user_id: &str,
    owner: Option<&str>,
    name: &str,
) -> Result<Arc<Collection>, RoutingError> {
    if let Some(handle) = owner {
        let owner = snapshot
            .handles
            .get(handle)
            .ok_or_else(|| RoutingError::CollectionNotFound(format!("No handle '{handle}'")))?;
        if !snapshot.owns_or_belongs(user_id, owner) {
            return Err(RoutingError::AccessDenied(handle.to_owned()));
        }
        let owner = match owner {
            Owner::User(id) => CollectionOwner::User(id.clone()),
            Owner::Organization(id) => CollectionOwner::Organization(id.clone()),
        };
        return snapshot.collection(&owner, name).ok_or_else(|| {
            RoutingError::CollectionNotFound(format!("{handle} has no collection named {name}"))
        });
    }
    if let Some(own) = snapshot.collection(&CollectionOwner::User(user_id.to_owned()), name) {
        return Ok(own);
    }
    let mut in_orgs: Vec<Arc<Collection>> = snapshot
        .orgs_of
        .get(user_id)
        .into_iter()
        .flatten()
        .filter_map(|org| snapshot.collection(&CollectionOwner::Organization(org.clone()), name))
        .collect();
    in_orgs.sort_by(|a, b| a.owner_handle.cmp(&b.owner_handle));
    match in_orgs.len() {
        0 => Err(RoutingError::CollectionNotFound(format!(
            "No collection named {name} among yours and your organizations'"
        ))),
        1 => Ok(in_orgs.remove(0)),
        _ => {
            let forms: Vec<String> = in_orgs.iter().map(|c| c.reference()).collect();
            Err(RoutingError::AmbiguousCollection(format!(
                "collection/{name} is ambiguous: {} each have one; use {}",
                in_orgs
                    .iter()
                    .map(|c| c.owner_handle.as_str())
                    .collect::<Vec<_>>()
                    .join(" and "),
                forms.join(" or ")
            )))
        }
    }
}

/// A model id without its date or `-latest` suffix: `claude-sonnet-4-5-20250929`,
/// `claude-sonnet-4-5-2025-09-29` and `claude-sonnet-4-5-latest` are all
/// `claude-sonnet-4-5`.
fn undated(model: &str) -> &str {
    if let Some(base) = model.strip_suffix("-latest") {
        return base;
    }
    let bytes = model.as_bytes();
    let digits = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
    let n = bytes.len();
    if n > 9 && bytes[n - 9] == b'-' && digits(n - 8..n) {
        return &model[..n - 9];
    }
    if n > 11
        && bytes[n - 11] == b'-'
        && bytes[n - 6] == b'-'
        && bytes[n - 3] == b'-'
        && digits(n - 10..n - 6)
        && digits(n - 5..n - 3)
        && digits(n - 2..n)
    {
        return &model[..n - 11];
    }
    model
}

/// The routes `viewer` may use that serve a direct (non-collection) reference. A model no
/// connection lists as such is looked for under its dated or undated variant
/// (`claude-sonnet-4-5` ↔ `claude-sonnet-4-5-20250929`), the newest listed first; `notes`
/// says so.
fn matches(
    snapshot: &Snapshot,
    viewer: &Viewer,
    reference: &ModelRef,
    original: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<Match>, RoutingError> {
    let (provider, owner, wanted) = match reference {
        ModelRef::Auto(_) | ModelRef::Collection { .. } => {
            return Err(RoutingError::ModelNotFound(format!(
                "'{original}' is a collection, not a model"
            )))
        }
        ModelRef::Handle {
            handle,
            provider,
            model,
        } => {
            let owner = snapshot
                .handles
                .get(handle)
                .cloned()
                .ok_or_else(|| RoutingError::AccessDenied(handle.clone()))?;
            if !viewer.reaches(snapshot, &owner) {
                return Err(RoutingError::AccessDenied(handle.clone()));
            }
            (Some(provider.as_str()), Some(owner), model.as_str())
        }
        ModelRef::Provider { provider, model } => (Some(provider.as_str()), None, model.as_str()),
        ModelRef::Bare(model) => (None, None, model.as_str()),
    };
    // An organization's connections answer a member's un-namespaced request only if the
    // member lets them; `HANDLE/provider/model` reaches them regardless.
    let unqualified = owner.is_none();
    let matching: Vec<&Arc<Route>> = snapshot
        .routes
        .iter()
        .filter(|r| viewer.may_use(snapshot, r))
        .filter(|r| match (viewer, &r.owner_org_id, unqualified) {
            (Viewer::User(user), Some(org), true) => snapshot.prefs_of(user, org).serve_unqualified,
            _ => true,
        })
        .filter(|r| provider.is_none_or(|p| r.provider_key == p))
        .filter(|r| match &owner {
            Some(Owner::User(id)) => r.owner_user_id.as_deref() == Some(id.as_str()),
            Some(Owner::Organization(id)) => r.owner_org_id.as_deref() == Some(id.as_str()),
            None => true,
        })
        .collect();
    let mut found: Vec<Match> = matching
        .iter()
        .filter_map(|r| {
            r.serves(wanted, provider.is_some()).map(|enabled| Match {
                route: (*r).clone(),
                enabled,
                model: wanted.to_owned(),
            })
        })
        .collect();
    if found.is_empty() {
        let base = undated(wanted);
        for r in &matching {
            let variant = r
                .models
                .iter()
                .filter(|(m, _)| m.as_str() != wanted && undated(m) == base)
                .max_by(|a, b| a.0.cmp(b.0));
            if let Some((m, enabled)) = variant {
                notes.push(format!(
                    "'{wanted}' is not listed as such; {} ({}) lists it as '{m}', a dated variant of the same model",
                    r.name, r.id
                ));
                found.push(Match {
                    route: (*r).clone(),
                    enabled: *enabled,
                    model: m.clone(),
                });
            }
        }
    }
    let matching = found;
    if matching.is_empty() {
        let looked_for = match (&owner, provider) {
            (Some(_), Some(p)) => {
                format!("model '{wanted}' on provider '{p}' among that owner's connections")
            }
            (None, Some(p)) => {
                format!("model '{wanted}' on any connection to provider '{p}' you may use")
            }
            _ => format!("model '{wanted}' on any connection you may use"),
        };
        return Err(RoutingError::ModelNotFound(format!(
            "Model '{original}' not found: looked for {looked_for}"
        )));
    }
    Ok(matching)
}

/// What would route through each of `connection_ids` for `user_id`: the collections they
/// may call with a member that resolves to it (`collection/HANDLE/NAME`, `auto(NAME)`), and their
/// aliases whose target does (`alias NAME`). The console's "used by"; nothing the user
/// cannot see is named.
pub fn used_by(
    snapshot: &Snapshot,
    user_id: &str,
    connection_ids: &[&str],
) -> HashMap<String, Vec<String>> {
    let viewer = Viewer::User(user_id.to_owned());
    let serves = |reference: &str| -> HashSet<String> {
        let Ok(parsed) = parse(snapshot, reference) else {
            return HashSet::new();
        };
        matches(snapshot, &viewer, &parsed, reference, &mut Vec::new())
            .map(|found| found.into_iter().map(|m| m.route.id.clone()).collect())
            .unwrap_or_default()
    };
    let collection_serves = |c: &Collection| -> HashSet<String> {
        members(snapshot, &viewer, c)
            .iter()
            .flat_map(|(member, _)| serves(member))
            .collect()
    };
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    let mut name_users = |routes: HashSet<String>, name: String| {
        for id in connection_ids.iter().filter(|id| routes.contains(**id)) {
            out.entry((*id).to_owned()).or_default().push(name.clone());
        }
    };
    for c in snapshot
        .collections
        .iter()
        .filter(|c| snapshot.may_use_collection(user_id, &c.owner))
    {
        name_users(collection_serves(c), c.reference());
    }
    for a in snapshot
        .aliases
        .iter()
        .filter(|a| snapshot.owns_or_belongs(user_id, &a.owner))
    {
        let routes = match parse(snapshot, &a.target) {
            Ok(ModelRef::Auto(name)) => snapshot
                .collection(&CollectionOwner::System, &name)
                .map(|c| collection_serves(&c))
                .unwrap_or_default(),
            Ok(ModelRef::Collection { owner, name }) => {
                find_collection(snapshot, user_id, owner.as_deref(), &name)
                    .map(|c| collection_serves(&c))
                    .unwrap_or_default()
            }
            _ => serves(&a.target),
        };
        name_users(routes, format!("alias {}", a.name));
    }
    out
}

/// Whether `reference` names something `viewer` can route to; the collection form's check.
pub fn resolves_for(
    snapshot: &Snapshot,
    viewer: &Viewer,
    reference: &str,
) -> Result<(), RoutingError> {
    let parsed = parse(snapshot, reference)?;
    matches(snapshot, viewer, &parsed, reference, &mut Vec::new()).map(|_| ())
}

/// Candidate order: the viewer's own connections (and those of organizations whose
/// priorities they let compete) first, then higher `prefer_score`, scope, latency. Says in
/// `notes` when a shared connection's priority was outranked by the viewer's own.
fn sort_by_priority(
    snapshot: &Snapshot,
    viewer: &Viewer,
    matching: &mut [Match],
    limiter: &Limiter,
    notes: &mut Vec<String>,
) {
    let tier = |m: &Match| match viewer {
        Viewer::User(user) => snapshot.tier(user, &m.route),
        _ => 0,
    };
    let best_own = matching
        .iter()
        .filter(|m| tier(m) == 0)
        .map(|m| m.route.prefer_score)
        .max();
    if let Some(best) = best_own {
        let outranked: Vec<&str> = matching
            .iter()
            .filter(|m| tier(m) == 1 && m.route.prefer_score > best)
            .map(|m| m.route.name.as_str())
            .collect();
        if !outranked.is_empty() {
            notes.push(format!(
                "your own connections come first: {} would rank higher by priority, but an organization's priorities count against yours only if you let them (Settings → Organizations)",
                outranked.join(", ")
            ));
        }
    }
    matching.sort_by(|a, b| {
        tier(a)
            .cmp(&tier(b))
            .then(b.route.prefer_score.cmp(&a.route.prefer_score))
            .then(a.route.scope_rank().cmp(&b.route.scope_rank()))
            .then_with(|| {
                let la = limiter.latency_ms(&a.route.id).unwrap_or(0.0);
                let lb = limiter.latency_ms(&b.route.id).unwrap_or(0.0);
                la.total_cmp(&lb)
            })
    });
}

fn score(snapshot: &Snapshot, m: Match, member: Option<String>, ctx: &Context<'_>) -> Scored {
    let route = &m.route;
    let reason = unusable(route, m.enabled, ctx.now_ms);
    let headroom = ctx.limiter.headroom(&route.id, route.rpm, route.tpm);
    let rpd_remaining = ctx
        .limiter
        .daily_remaining(&route.id, route.rpd, ctx.now_ms);
    let over = match (
        headroom.rpm_remaining,
        headroom.tpm_remaining,
        rpd_remaining,
    ) {
        (_, _, Some(0)) => Some("daily request quota used; resets at 00:00 UTC".to_owned()),
        (Some(0), _, _) => Some("over its rpm budget".to_owned()),
        (_, Some(0), _) => Some("over its tpm budget".to_owned()),
        _ => None,
    };
    let cost = snapshot.price(&route.provider_key, &m.model).map(|p| {
        (ctx.request.prompt_tokens as f64 * p.input_per_mtok
            + ctx.request.completion_tokens as f64 * p.output_per_mtok)
            / 1_000_000.0
    });
    let latency = ctx.limiter.model_latency(&route.id, &m.model).map(|l| {
        match (ctx.request.stream, l.ttft_ms) {
            (true, Some(ttft)) => ttft,
            _ => l.total_ms,
        }
    });
    Scored {
        m,
        member,
        reason,
        over,
        headroom,
        rpd_remaining,
        cost,
        latency,
    }
}

/// A collection's maximum price per request: a member that could cost more for this
/// request (the budgets' bound: prompt bytes + max output at its price), or that has no
/// price, is skipped with the reason.
fn within_max_price(
    snapshot: &Snapshot,
    mut s: Scored,
    max: Option<f64>,
    ctx: &Context<'_>,
) -> Scored {
    let Some(max) = max else { return s };
    if s.reason.is_some() {
        return s;
    }
    s.reason = match snapshot.price(&s.m.route.provider_key, &s.m.model) {
        None => Some(format!(
            "no price, and the collection allows at most ${max} a request"
        )),
        Some(price) => {
            let most = crate::budgets::Budgets::max_cost(&price, &ctx.request, None);
            (most > max).then(|| {
                format!("could cost ${most:.6} for this request, over the collection's maximum of ${max}")
            })
        }
    };
    s
}

/// The plan: usable candidates in order, and what was considered — every route for a dry
/// run (`explain`), only the skipped ones on the request path, which needs them just for
/// the error message when nothing is usable.
fn finish(
    reference: ModelRef,
    collection: Option<Arc<Collection>>,
    order: Option<String>,
    scored: Vec<Scored>,
    notes: Vec<String>,
    dry_run: bool,
) -> Plan {
    let mut candidates = Vec::new();
    let mut considered = Vec::new();
    for s in scored {
        let route = &s.m.route;
        if dry_run || s.reason.is_some() {
            considered.push(Considered {
                connection_id: route.id.clone(),
                name: route.name.clone(),
                provider: route.provider_key.clone(),
                upstream_model: s.m.model.clone(),
                member: s.member.clone(),
                prefer_score: route.prefer_score,
                scope: route.scope.clone(),
                status: route.status.clone(),
                latency_ms: s.latency,
                rpm_remaining: s.headroom.rpm_remaining,
                tpm_remaining: s.headroom.tpm_remaining,
                rpd_remaining: s.rpd_remaining,
                estimated_cost_usd: s.cost,
                usable: s.reason.is_none() && s.over.is_none(),
                reason: s.reason.clone().or(s.over.clone()),
            });
        }
        if s.reason.is_none() {
            candidates.push(Candidate {
                route: s.m.route,
                upstream_model: s.m.model,
            });
        }
    }
    Plan {
        resolution: reference.resolution(),
        reference,
        alias: None,
        alias_target: None,
        notes,
        collection,
        order,
        candidates,
        considered,
    }
}

/// A dry run of routing for `user_id`: the ordered candidates, why any is skipped and how
/// the collection's strategy ordered them. Moves no round-robin cursor.
pub async fn explain(
    state: &crate::state::AppState,
    user_id: &str,
    model: &str,
    request: RequestSize,
) -> Result<app::dto::ExplainDto, crate::error::ApiError> {
    let snapshot = state.routing.snapshot().await?;
    let ctx = Context {
        limiter: &state.limiter,
        cursors: &state.routing.cursors,
        now_ms: crate::clock::now_ms(),
        request,
        dry_run: true,
        cursor: None,
    };
    let plan = plan(&snapshot, user_id, model, &ctx)?;
    Ok(app::dto::ExplainDto {
        model: model.to_owned(),
        resolution: plan.resolution.to_owned(),
        alias: plan.alias,
        notes: plan.notes,
        collection: plan.collection.as_ref().map(|c| c.reference()),
        strategy: plan
            .collection
            .as_ref()
            .map(|c| c.strategy.as_str().to_owned()),
        order: plan.order,
        candidates: plan.considered,
    })
}
