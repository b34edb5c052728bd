//! Logs and traces. Logs go to stderr (text, or JSON with `LANGMART_LOG_FORMAT=json`);
//! with `--otlp-endpoint`, the spans of target [`TARGET`] — a request, its routing, each
//! upstream attempt and a stream's life — are exported as OpenTelemetry spans over
//! OTLP/HTTP (protobuf), continuing a client's W3C `traceparent` and passing the
//! trace on to the provider.
//!
//! Without an endpoint no exporting layer exists and every [`TARGET`] span is disabled
//! at its call site (one atomic load): the request path pays nothing for traces it does
//! not export.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HeaderExtractor, HeaderInjector, HttpClient, HttpError};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use opentelemetry_sdk::trace::{BatchConfigBuilder, SdkTracerProvider};
use opentelemetry_sdk::{runtime, Resource};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The target of the spans that are exported, and never printed.
pub const TARGET: &str = "langmart::otel";

/// How long one export may take, and shutdown waits for the last.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether spans are exported (`--otlp-endpoint` was given).
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The endpoint is shown with its password hidden.
    #[error("--otlp-endpoint {endpoint}: {message}")]
    Endpoint { endpoint: String, message: String },
    #[error("could not install the log subscriber: {0}")]
    Install(String),
}

/// What must outlive the server: the exporter, flushed by [`Telemetry::shutdown`].
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still queued (bounded by [`EXPORT_TIMEOUT`]).
    pub async fn shutdown(self) {
        let Some(provider) = self.provider else {
            return;
        };
        // The processor's shutdown blocks on its runtime task: not on a runtime thread.
        let flushed = tokio::task::spawn_blocking(move || provider.shutdown());
        match tokio::time::timeout(EXPORT_TIMEOUT, flushed).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "the last traces were not exported"),
            _ => tracing::warn!("the last traces were not exported in time"),
        }
    }
}

/// Installs the process's subscriber: logs filtered by `LANGMART_LOG`, and with
/// `otlp_endpoint` (e.g. `http://127.0.0.1:4318`) the trace exporter. Call inside the
/// runtime.
pub fn init(otlp_endpoint: Option<&str>) -> Result<Telemetry, TelemetryError> {
    let mut filter = EnvFilter::try_from_env("LANGMART_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    // The exported spans are not log lines, whatever LANGMART_LOG says.
    if let Ok(off) = format!("{TARGET}=off").parse() {
        filter = filter.add_directive(off);
    }
    let json = std::env::var("LANGMART_LOG_FORMAT").is_ok_and(|f| f == "json");
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = if json {
        logs.json().with_filter(filter).boxed()
    } else {
        logs.with_filter(filter).boxed()
    };
    let installed = match otlp_endpoint {
        // Two subscribers, not an optional layer: an absent `Option` layer would make
        // every disabled call site "sometimes" instead of "never".
        None => tracing_subscriber::registry().with(logs).try_init(),
        Some(endpoint) => {
            let provider = exporter(endpoint)?;
            let traces = tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("langmart"))
                .with_filter(Targets::new().with_target(TARGET, LevelFilter::INFO));
            let installed = tracing_subscriber::registry()
                .with(logs)
                .with(traces)
                .try_init();
            EXPORTING.store(installed.is_ok(), Ordering::Relaxed);
            installed.map_err(|e| TelemetryError::Install(e.to_string()))?;
            tracing::info!(endpoint = %crate::config::redact_url(endpoint), "exporting traces over OTLP/HTTP");
            return Ok(Telemetry {
                provider: Some(provider),
            });
        }
    };
    installed.map_err(|e| TelemetryError::Install(e.to_string()))?;
    Ok(Telemetry { provider: None })
}

fn exporter(endpoint: &str) -> Result<SdkTracerProvider, TelemetryError> {
    let failed = |message: String| TelemetryError::Endpoint {
        endpoint: crate::config::redact_url(endpoint),
        message,
    };
    let base = url::Url::parse(endpoint).map_err(|e| failed(e.to_string()))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(failed("expected an http:// or https:// URL".into()));
    }
    // The operator's collector, like the database or Redis: not a tenant's endpoint, so
    // not under the outbound policy that guards connections.
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let span_exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        // Used as given: the signal's path is ours to add.
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .with_timeout(EXPORT_TIMEOUT)
        .with_http_client(Exporting { client })
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let processor = BatchSpanProcessor::builder(span_exporter, runtime::Tokio)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_max_queue_size(8192)
                .with_scheduled_delay(Duration::from_secs(1))
                .with_max_export_timeout(EXPORT_TIMEOUT)
                .build(),
        )
        .build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(
            Resource::builder()
                .with_service_name("langmart")
                .with_attribute(opentelemetry::KeyValue::new(
                    "service.version",
                    env!("CARGO_PKG_VERSION"),
                ))
                .build(),
        )
        .build())
}

/// The exporter's HTTP client: ours (reqwest 0.12), asynchronous, on the runtime.
#[derive(Debug, Clone)]
struct Exporting {
    client: reqwest::Client,
}

#[async_trait::async_trait]
impl HttpClient for Exporting {
    async fn send_bytes(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, HttpError> {
        let mut request = reqwest::Request::try_from(request)?;
        *request.timeout_mut() = Some(EXPORT_TIMEOUT);
        let response = self.client.execute(request).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let mut answer = http::Response::builder()
            .status(status)
            .body(response.bytes().await?)?;
        *answer.headers_mut() = headers;
        // A refusal is the exporter's to judge from the status.
        Ok(answer)
    }
}

/// The `request` span around a whole exchange, continuing the client's `traceparent`
/// (the middleware exists only while exporting).
pub async fn request(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| req.uri().path().to_owned());
    let span = tracing::info_span!(
        target: TARGET,
        "request",
        otel.name = format!("{} {route}", req.method()),
        otel.kind = "server",
        http.request.method = %req.method(),
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(req.headers()));
    // Without a valid `traceparent` the request starts a trace of its own.
    let _ = span.set_parent(parent);
    let response = next.run(req).instrument(span.clone()).await;
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    response
}

/// Adds the current span's `traceparent` (and `tracestate`) to an outgoing request, so
/// the provider's spans join the caller's trace.
pub fn propagate(headers: &mut http::HeaderMap) {
    if !exporting() {
        return;
    }
    TraceContextPropagator::new().inject_context(
        &opentelemetry::Context::current(),
        &mut HeaderInjector(headers),
    );
}

#[cfg(test)]
mod tests {
    use super::exporter;

    #[test]
    fn a_refused_endpoint_is_reported_without_its_password() {
        let Err(e) = exporter("ftp://user:secret@collector.example:4318") else {
            panic!("an ftp endpoint is refused");
        };
        let said = e.to_string();
        assert!(!said.contains("secret"), "{said}");
        assert!(said.contains("collector.example"), "{said}");
    }
}
