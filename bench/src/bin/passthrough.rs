//! The benchmark's baseline: a bare pass-through proxy built from the same parts as
//! LangMart (axum server, pooled reqwest client, TCP_NODELAY) that forwards every
//! `POST /v1/...` body to one upstream and streams the answer back untouched — no auth,
//! routing, translation or logging. Throughput against it is what a gateway can hope for.

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    response::Response,
    routing::post,
    Router,
};
use clap::Parser;

#[derive(Parser, Clone)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: String,
    /// Upstream base URL, without `/v1`.
    #[arg(long)]
    upstream: String,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    client: reqwest::Client,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let client = reqwest::Client::builder()
        .build()
        .map_err(std::io::Error::other)?;
    let proxy = Proxy {
        upstream: args.upstream.trim_end_matches('/').to_owned(),
        client,
    };
    let app = Router::new()
        .route("/v1/{*rest}", post(forward))
        .with_state(proxy);
    let listener = tokio::net::TcpListener::bind(&args.addr).await?;
    use std::io::Write;
    writeln!(std::io::stdout(), "{}", listener.local_addr()?)?;
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await
}

async fn forward(State(p): State<Proxy>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let mut request = p
        .client
        .post(format!("{}{}", p.upstream, uri.path()))
        .body(body);
    if let Some(ct) = headers.get("content-type") {
        request = request.header("content-type", ct);
    }
    match request.send().await {
        Ok(upstream) => {
            let mut response = Response::builder().status(upstream.status().as_u16());
            if let Some(ct) = upstream.headers().get("content-type") {
                response = response.header("content-type", ct);
            }
            response
                .body(Body::from_stream(upstream.bytes_stream()))
                .unwrap_or_else(|_| bad_gateway())
        }
        Err(_) => bad_gateway(),
    }
}

fn bad_gateway() -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::BAD_GATEWAY;
    r
}
