//! The benchmark's load generator. Open-loop at a fixed rate (latency counted from the
//! moment a request was due, so a slow server cannot hide its queueing), closed-loop at a
//! fixed concurrency, concurrent streams (time to first byte and gaps between chunks),
//! held-open streams for memory, and cold start. Prints one JSON object per run.

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use clap::{Parser, Subcommand};
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use serde_json::{json, Value};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(clap::Args, Clone)]
struct Target {
    /// Base URL ending in /v1 (`concurrency`: several, comma-separated, spread over the
    /// workers, for replicas without a load balancer).
    #[arg(long)]
    url: String,
    #[arg(long, default_value = "none")]
    key: String,
    #[arg(long)]
    model: String,
}

#[derive(Subcommand)]
enum Mode {
    /// Fixed request rate for a duration.
    Rate {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        rps: u64,
        #[arg(long)]
        seconds: u64,
    },
    /// Fixed number of requests in flight for a duration.
    Concurrency {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        concurrency: usize,
        #[arg(long)]
        seconds: u64,
        /// A process whose CPU time per request to report (the server under test).
        #[arg(long)]
        pid: Option<u32>,
    },
    /// N concurrent streams: time to first byte and the gaps between chunks.
    Streams {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        streams: usize,
        /// One stream at a time instead of all at once: the latency a stream adds by
        /// itself, without the queueing of a burst.
        #[arg(long)]
        sequential: bool,
    },
    /// Opens N streams, and once all have started reports the RSS of process `pid`.
    Hold {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        streams: usize,
        #[arg(long)]
        pid: u32,
        /// How long to hold them open before the second RSS reading.
        #[arg(long, default_value_t = 3000)]
        settle_ms: u64,
    },
    /// Starts `bin serve` and reports the time until /health answers, then idle RSS.
    Coldstart {
        #[arg(long)]
        bin: String,
        #[arg(long)]
        data_dir: String,
        #[arg(long)]
        port: u16,
    },
}

fn client(pool: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(pool)
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap_or_default()
}

fn body(model: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "Say ok."}], "max_tokens": 16})
}

/// Microseconds from 1 µs to 10 minutes, three significant figures.
#[expect(clippy::expect_used, reason = "constant bounds that are valid")]
fn hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

fn summary(h: &Histogram<u64>) -> Value {
    json!({
        "p50_us": h.value_at_quantile(0.50),
        "p90_us": h.value_at_quantile(0.90),
        "p99_us": h.value_at_quantile(0.99),
        "p999_us": h.value_at_quantile(0.999),
        "max_us": h.max(),
        "count": h.len(),
    })
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

async fn send(c: &reqwest::Client, t: &Target, stream: bool) -> bool {
    let res = c
        .post(format!("{}/chat/completions", t.url))
        .bearer_auth(&t.key)
        .json(&body(&t.model, stream))
        .send()
        .await;
    match res {
        Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
        _ => false,
    }
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// User plus system CPU time of process `pid` so far, in clock ticks (`/proc/PID/stat`
/// fields 14 and 15; the command name before them may hold spaces, so count from its `)`).
fn cpu_ticks(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            // After the name: state is field 3, so utime (14) and stime (15) sit at 11 and 12.
            let utime: u64 = fields.get(11)?.parse().ok()?;
            let stime: u64 = fields.get(12)?.parse().ok()?;
            Some(utime + stime)
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let out = match Cli::parse().mode {
        Mode::Rate {
            target,
            rps,
            seconds,
        } => rate(target, rps, seconds).await,
        Mode::Concurrency {
            target,
            concurrency,
            seconds,
            pid,
        } => concurrency_run(target, concurrency, seconds, pid).await,
        Mode::Streams {
            target,
            streams,
            sequential: false,
        } => streams_run(target, streams).await,
        Mode::Streams {
            target,
            streams,
            sequential: true,
        } => streams_sequential(target, streams).await,
        Mode::Hold {
            target,
            streams,
            pid,
            settle_ms,
        } => hold(target, streams, pid, Duration::from_millis(settle_ms)).await,
        Mode::Coldstart {
            bin,
            data_dir,
            port,
        } => coldstart(&bin, &data_dir, port).await,
    };
    let _ = writeln!(std::io::stdout(), "{out}");
}

async fn rate(t: Target, rps: u64, seconds: u64) -> Value {
    let c = client(4096);
    let h = Arc::new(Mutex::new(hist()));
    let errors = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let total = rps * seconds;
    let step = Duration::from_nanos(1_000_000_000 / rps.max(1));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for i in 0..total {
        let due = start + step * u32::try_from(i).unwrap_or(u32::MAX);
        tokio::time::sleep_until(due.into()).await;
        let (c, t, h, errors) = (c.clone(), t.clone(), h.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let ok = send(&c, &t, false).await;
            let latency = micros(due.elapsed());
            if ok {
                let _ = h.lock().map(|mut h| h.record(latency));
            } else {
                errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let h = h.lock().map(|h| h.clone()).unwrap_or_else(|_| hist());
    let mut v = summary(&h);
    v["target_rps"] = json!(rps);
    v["achieved_rps"] = json!((h.len() as f64 / elapsed).round());
    v["errors"] = json!(errors.load(std::sync::atomic::Ordering::Relaxed));
    v
}

async fn concurrency_run(t: Target, concurrency: usize, seconds: u64, pid: Option<u32>) -> Value {
    let c = client(concurrency * 2);
    let cpu_before = pid.map(cpu_ticks);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let urls: Vec<String> = t.url.split(',').map(str::to_owned).collect();
    let workers: Vec<_> = (0..concurrency)
        .map(|i| {
            let c = c.clone();
            let t = Target {
                url: urls[i % urls.len()].clone(),
                ..t.clone()
            };
            tokio::spawn(async move {
                let mut h = hist();
                let mut errors = 0u64;
                while Instant::now() < deadline {
                    let begun = Instant::now();
                    if send(&c, &t, false).await {
                        let _ = h.record(micros(begun.elapsed()));
                    } else {
                        errors += 1;
                    }
                }
                (h, errors)
            })
        })
        .collect();
    let mut all = hist();
    let mut errors = 0;
    for w in workers {
        if let Ok((h, e)) = w.await {
            let _ = all.add(&h);
            errors += e;
        }
    }
    let mut v = summary(&all);
    v["rps"] = json!((all.len() as f64 / start.elapsed().as_secs_f64()).round());
    v["errors"] = json!(errors);
    if let (Some(pid), Some(before)) = (pid, cpu_before) {
        let ticks = cpu_ticks(pid).saturating_sub(before);
        // /proc counts in USER_HZ, which Linux fixes at 100 per second for user space.
        let cpu_us = ticks as f64 * 10_000.0;
        v["cpu_us_per_request"] = json!((cpu_us / all.len().max(1) as f64 * 10.0).round() / 10.0);
    }
    v
}

/// Opens one stream; returns (time to first byte, gaps between chunks).
async fn one_stream(c: &reqwest::Client, t: &Target) -> Option<(u64, Vec<u64>)> {
    let begun = Instant::now();
    let res = c
        .post(format!("{}/chat/completions", t.url))
        .bearer_auth(&t.key)
        .json(&body(&t.model, true))
        .send()
        .await
        .ok()?;
    if !res.status().is_success() {
        return None;
    }
    let mut stream = res.bytes_stream();
    let mut ttfb = None;
    let mut last = Instant::now();
    let mut gaps = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.ok()?;
        if chunk.is_empty() {
            continue;
        }
        let now = Instant::now();
        match ttfb {
            None => ttfb = Some(micros(now - begun)),
            Some(_) => gaps.push(micros(now - last)),
        }
        last = now;
    }
    Some((ttfb?, gaps))
}

/// `n` concurrent streams, measured on the second of two rounds over the same client: the
/// first round opens the connections (client to server, and the server's own to its
/// upstream), so the measured one shows time to first byte on warm connections, as a
/// running service sees it, not `n` simultaneous TCP handshakes.
async fn streams_run(t: Target, n: usize) -> Value {
    let c = client(n * 2);
    let warm_up: Vec<_> = (0..n)
        .map(|_| {
            let (c, t) = (c.clone(), t.clone());
            tokio::spawn(async move { one_stream(&c, &t).await })
        })
        .collect();
    for task in warm_up {
        let _ = task.await;
    }
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (c, t) = (c.clone(), t.clone());
            tokio::spawn(async move { one_stream(&c, &t).await })
        })
        .collect();
    let (mut ttfb, mut gaps, mut errors) = (hist(), hist(), 0);
    for task in tasks {
        match task.await.ok().flatten() {
            Some((first, g)) => {
                let _ = ttfb.record(first);
                for gap in g {
                    let _ = gaps.record(gap);
                }
            }
            None => errors += 1,
        }
    }
    json!({"ttfb": summary(&ttfb), "gap": summary(&gaps), "errors": errors})
}

/// `n` streams one after another on one warm connection.
async fn streams_sequential(t: Target, n: usize) -> Value {
    let c = client(1);
    let _ = one_stream(&c, &t).await;
    let (mut ttfb, mut gaps, mut errors) = (hist(), hist(), 0);
    for _ in 0..n {
        match one_stream(&c, &t).await {
            Some((first, g)) => {
                let _ = ttfb.record(first);
                for gap in g {
                    let _ = gaps.record(gap);
                }
            }
            None => errors += 1,
        }
    }
    json!({"ttfb": summary(&ttfb), "gap": summary(&gaps), "errors": errors})
}

/// RSS when the last of `n` streams has started (the ramp's high-water mark, while every
/// request's set-up is still being freed) and again after `settle` with all still open.
async fn hold(t: Target, n: usize, pid: u32, settle: Duration) -> Value {
    let c = client(n * 2);
    let started = Arc::new(tokio::sync::Semaphore::new(0));
    let opened = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (c, t, started, opened) = (c.clone(), t.clone(), started.clone(), opened.clone());
        tasks.push(tokio::spawn(async move {
            let res = c
                .post(format!("{}/chat/completions", t.url))
                .bearer_auth(&t.key)
                .json(&body(&t.model, true))
                .send()
                .await;
            match res {
                Ok(res) if res.status().is_success() => {
                    let mut stream = res.bytes_stream();
                    if let Some(Ok(_)) = stream.next().await {
                        opened.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    started.add_permits(1);
                    while stream.next().await.is_some() {}
                }
                _ => started.add_permits(1),
            }
        }));
    }
    let all = started
        .acquire_many(u32::try_from(n).unwrap_or(u32::MAX))
        .await;
    let at_start = rss_kb(pid);
    tokio::time::sleep(settle).await;
    let settled = rss_kb(pid);
    drop(all);
    for task in &tasks {
        task.abort();
    }
    json!({
        "open_streams": opened.load(std::sync::atomic::Ordering::Relaxed),
        "rss_kb_started": at_start,
        "rss_kb": settled,
    })
}

async fn coldstart(bin: &str, data_dir: &str, port: u16) -> Value {
    let c = client(1);
    let begun = Instant::now();
    let child = std::process::Command::new(bin)
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
            data_dir,
            "--health-check-interval-secs",
            "0",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        return json!({"error": "could not start"});
    };
    let url = format!("http://127.0.0.1:{port}/health");
    let mut ready = None;
    while begun.elapsed() < Duration::from_secs(30) {
        if let Ok(r) = c.get(&url).send().await {
            if r.status().is_success() {
                ready = Some(begun.elapsed());
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = rss_kb(child.id());
    let _ = child.kill();
    let _ = child.wait();
    json!({"cold_start_ms": ready.map(|d| d.as_secs_f64() * 1000.0), "idle_rss_kb": idle})
}
