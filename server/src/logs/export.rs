//! A filtered range of the request log as a file: CSV or JSON Lines, named by the day,
//! sent as an attachment. Shared by `GET /api/logs.csv|.jsonl` and the console's export.

use axum::{
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
};

use super::query::{all, to_csv, to_jsonl, LogQuery};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Jsonl => "application/x-ndjson",
        }
    }
}

/// The console's filters as a log query: `since_hours` back from `now_ms`, a page of 100.
pub fn console_query(filter: &app::dto::LogFilterDto, now_ms: i64) -> LogQuery {
    LogQuery {
        model_contains: filter.model.clone(),
        connection_id: filter.connection_id.clone(),
        status: filter.status,
        resolution: filter.resolution.clone(),
        from: filter
            .since_hours
            .filter(|h| *h > 0)
            .map(|h| crate::clock::rfc3339(now_ms - h.saturating_mul(3_600_000))),
        before: filter.before.clone(),
        limit: Some(100),
        ..LogQuery::default()
    }
}

/// The rows `filter` selects for `user_id` (with `anonymous`, also keyless ones), with
/// connection names, as a file download.
pub async fn download(
    state: &AppState,
    user_id: &str,
    anonymous: bool,
    filter: &LogQuery,
    format: Format,
) -> Result<Response, ApiError> {
    let mut rows = all(&state.db, user_id, anonymous, filter).await?;
    state
        .routing
        .fill_connection_names(user_id, &mut rows)
        .await?;
    let body = match format {
        Format::Csv => to_csv(&rows)?,
        Format::Jsonl => to_jsonl(&rows),
    };
    let day = crate::clock::rfc3339(crate::clock::now_ms());
    let name = format!(
        "attachment; filename=\"langmart-logs-{}.{}\"",
        day.get(..10).unwrap_or("export"),
        format.extension()
    );
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
