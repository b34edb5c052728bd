//! Reading the request log: the caller's rows, newest first, filtered (exact or substring
//! model, connection, status, resolution, time range) and paged by a cursor that stays
//! right while new rows arrive; and the same rows as CSV or JSON Lines for export.

use serde::Deserialize;

use super::{LogDto, LogRow};
use crate::clock::parse_time_or_day;
use crate::db::{Db, StoreError};
use crate::error::{ApiError, RequestError};

/// Rows one export holds at most (a filtered range, newest first).
pub const EXPORT_MAX_ROWS: usize = 100_000;

#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// The model string exactly as requested.
    pub model: Option<String>,
    /// Part of the model string, any case.
    pub model_contains: Option<String>,
    pub connection_id: Option<String>,
    pub status: Option<i64>,
    pub resolution: Option<String>,
    /// RFC 3339 time or `YYYY-MM-DD` (UTC): rows at or after it.
    pub from: Option<String>,
    /// RFC 3339 time or `YYYY-MM-DD` (UTC): rows before it.
    pub to: Option<String>,
    /// A previous page's `next_cursor`: the rows after the last one it held.
    pub before: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// A page of rows and, when there are more, the cursor of the next page.
#[derive(Debug, Default, serde::Serialize, utoipa::ToSchema)]
pub struct LogPage {
    pub logs: Vec<LogDto>,
    pub next_cursor: Option<String>,
}

/// `created_at` and id of the last row seen, as `MILLIS.ID`.
fn parse_cursor(text: &str) -> Result<(i64, String), RequestError> {
    text.split_once('.')
        .and_then(|(ms, id)| Some((ms.parse::<i64>().ok()?, id.to_owned())))
        .filter(|(_, id)| !id.is_empty())
        .ok_or(RequestError::InvalidField {
            field: "before",
            message: "before must be a next_cursor from an earlier page".into(),
        })
}

/// A `LIKE` pattern matching `text` anywhere, its own `%`, `_` and `\` taken literally.
fn contains_pattern(text: &str) -> String {
    let mut out = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

fn instant(text: &Option<String>, field: &'static str) -> Result<Option<i64>, RequestError> {
    text.as_deref()
        .filter(|t| !t.trim().is_empty())
        .map(|t| {
            parse_time_or_day(t).ok_or(RequestError::InvalidField {
                field,
                message: format!("{field} must be an RFC 3339 time or a YYYY-MM-DD day"),
            })
        })
        .transpose()
}

/// The caller's rows, newest first; filters are optional (a NULL parameter matches all).
/// With `anonymous`, also the rows of requests that had no valid key (platform admins).
pub async fn list(
    db: &Db,
    user_id: &str,
    anonymous: bool,
    q: &LogQuery,
) -> Result<LogPage, ApiError> {
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let offset = q.offset.unwrap_or(0).max(0);
    let from = instant(&q.from, "from")?.unwrap_or(i64::MIN);
    let to = instant(&q.to, "to")?.unwrap_or(i64::MAX);
    let (before_ms, before_id) = match q.before.as_deref().filter(|c| !c.is_empty()) {
        Some(cursor) => parse_cursor(cursor)?,
        None => (i64::MAX, String::new()),
    };
    let blank = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let rows = sqlx::query_as::<_, LogRow>(
        "SELECT id, request_id, created_at, user_id, key_id, endpoint, user_agent, requested_model, \
                resolution, collection, connection_id, provider, upstream_model, status_code, error_code, \
                latency_ms, ttft_ms, prompt_tokens, completion_tokens, cache_read_tokens, cache_write_tokens, \
                stream, attempts, cost_usd, cost_basis \
         FROM request_logs \
         WHERE (user_id = $1 OR ($8 = 1 AND user_id = '')) \
           AND ($2 IS NULL OR requested_model = $2) \
           AND ($3 IS NULL OR connection_id = $3) \
           AND ($4 IS NULL OR status_code = $4) \
           AND ($5 IS NULL OR resolution = $5) \
           AND ($9 IS NULL OR LOWER(requested_model) LIKE $9 ESCAPE '\\') \
           AND created_at >= $10 AND created_at < $11 \
           AND (created_at < $12 OR (created_at = $12 AND id < $13)) \
         ORDER BY created_at DESC, id DESC LIMIT $6 OFFSET $7",
    )
    .bind(user_id)
    .bind(blank(&q.model))
    .bind(blank(&q.connection_id))
    .bind(q.status)
    .bind(blank(&q.resolution))
    .bind(limit + 1)
    .bind(offset)
    .bind(i64::from(anonymous))
    .bind(blank(&q.model_contains).map(|m| contains_pattern(&m)))
    .bind(from)
    .bind(to)
    .bind(before_ms)
    .bind(before_id)
    .fetch_all(&db.pool)
    .await
    .map_err(StoreError::from)?;
    let more = rows.len() as i64 > limit;
    let rows: Vec<LogRow> = rows.into_iter().take(limit as usize).collect();
    let next_cursor = more
        .then(|| rows.last().map(|r| format!("{}.{}", r.created_at, r.id)))
        .flatten();
    Ok(LogPage {
        logs: rows.into_iter().map(LogDto::from).collect(),
        next_cursor,
    })
}

/// Every row the filters select (newest first, at most [`EXPORT_MAX_ROWS`]), page by page.
pub async fn all(
    db: &Db,
    user_id: &str,
    anonymous: bool,
    q: &LogQuery,
) -> Result<Vec<LogDto>, ApiError> {
    let mut q = LogQuery {
        limit: Some(500),
        offset: None,
        ..q.clone()
    };
    let mut out = Vec::new();
    loop {
        let page = list(db, user_id, anonymous, &q).await?;
        out.extend(page.logs);
        match page.next_cursor {
            Some(cursor) if out.len() < EXPORT_MAX_ROWS => q.before = Some(cursor),
            _ => break,
        }
    }
    out.truncate(EXPORT_MAX_ROWS);
    Ok(out)
}

/// The columns of a CSV export, in order.
const CSV_COLUMNS: [&str; 19] = [
    "time",
    "request_id",
    "endpoint",
    "model",
    "resolution",
    "collection",
    "connection_id",
    "connection",
    "provider",
    "upstream_model",
    "status",
    "error_code",
    "latency_ms",
    "ttft_ms",
    "prompt_tokens",
    "completion_tokens",
    "stream",
    "cost_usd",
    "cost_basis",
];

/// Rows as CSV (RFC 4180, by the `csv` crate), one header line first.
pub fn to_csv(rows: &[LogDto]) -> Result<String, ApiError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let failed = |_| {
        ApiError::from(StoreError::Internal(
            "could not write the CSV export".into(),
        ))
    };
    w.write_record(CSV_COLUMNS).map_err(failed)?;
    let opt = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    for r in rows {
        w.write_record([
            r.created_at.clone(),
            r.request_id.clone(),
            r.path.clone(),
            r.model.clone(),
            r.resolution.clone(),
            r.collection.clone().unwrap_or_default(),
            r.connection_id.clone().unwrap_or_default(),
            r.connection_name.clone().unwrap_or_default(),
            r.provider.clone().unwrap_or_default(),
            r.upstream_model.clone().unwrap_or_default(),
            r.status.to_string(),
            r.error_code.clone().unwrap_or_default(),
            r.latency_ms.to_string(),
            opt(r.ttft_ms),
            opt(r.prompt_tokens),
            opt(r.completion_tokens),
            r.stream.to_string(),
            r.cost_usd.map(|c| c.to_string()).unwrap_or_default(),
            r.cost_basis.clone().unwrap_or_default(),
        ])
        .map_err(failed)?;
    }
    let bytes = w.into_inner().map_err(|_| {
        ApiError::from(StoreError::Internal(
            "could not write the CSV export".into(),
        ))
    })?;
    String::from_utf8(bytes).map_err(|_| {
        ApiError::from(StoreError::Internal(
            "could not write the CSV export".into(),
        ))
    })
}

/// Rows as JSON Lines: each row's JSON (as `GET /api/logs` gives it) on its own line.
pub fn to_jsonl(rows: &[LogDto]) -> String {
    rows.iter()
        .filter_map(|r| serde_json::to_string(r).ok())
        .map(|line| line + "\n")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substring_patterns_take_wildcards_literally() {
        assert_eq!(contains_pattern("GPT-4o"), "%gpt-4o%");
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn cursors_are_millis_and_an_id() {
        assert_eq!(
            parse_cursor("1700.log-1").unwrap(),
            (1700, "log-1".to_owned())
        );
        assert!(parse_cursor("x.log").is_err());
        assert!(parse_cursor("1700.").is_err());
        assert!(parse_cursor("1700").is_err());
    }
}
