//! The load generator: N clients, each on its own keep-alive connection, each running
//! operations back to back until the deadline or its operation budget, whichever is first.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub fn http_client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(1)
        .build(connector)
}

/// One HTTP request of an operation.
#[derive(Clone, Debug)]
pub struct Step {
    pub method: Method,
    /// Path under the SCIM base (`/Users/...`), query included.
    pub path: String,
    pub body: Option<String>,
    pub token: Arc<str>,
    /// Statuses that count as success.
    pub expect: &'static [u16],
}

impl Step {
    pub fn get(token: &Arc<str>, path: String) -> Self {
        Self {
            method: Method::GET,
            path,
            body: None,
            token: token.clone(),
            expect: &[200],
        }
    }

    pub fn send(token: &Arc<str>, method: Method, path: String, body: serde_json::Value) -> Self {
        let expect: &'static [u16] = if method == Method::POST {
            &[200, 201]
        } else {
            &[200, 204]
        };
        Self {
            method,
            path,
            body: Some(body.to_string()),
            token: token.clone(),
            expect,
        }
    }
}

/// What one step answered.
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

/// Sends one step to the gateway at `addr`.
pub async fn send(client: &HttpClient, addr: SocketAddr, step: &Step) -> anyhow::Result<Answer> {
    let mut request = Request::builder()
        .method(step.method.clone())
        .uri(format!("http://{addr}/scim/v2{}", step.path))
        .header("authorization", format!("Bearer {}", step.token))
        .header("accept", "application/scim+json");
    if step.body.is_some() {
        request = request.header("content-type", "application/scim+json");
    }
    let request = request
        .body(Full::new(Bytes::from(
            step.body.clone().unwrap_or_default(),
        )))
        .context("build request")?;
    let response = client.request(request).await.context("send request")?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .context("read response body")?
        .to_bytes();
    Ok(Answer {
        status: status.as_u16(),
        body,
    })
}

/// The operations of a scenario: `operation(client, iteration)` gives the steps of one
/// operation, sent in order on the client's connection.
pub type Operation = Arc<dyn Fn(usize, u64) -> Vec<Step> + Send + Sync>;

#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub clients: usize,
    pub duration: Duration,
    /// Most operations per client (the loop also stops at `duration`).
    pub max_operations_per_client: u64,
}

/// Latencies in microseconds, one per operation that succeeded or failed.
#[derive(Default)]
pub struct Outcome {
    pub latencies_us: Vec<u64>,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// The `id` of what the last step of each successful operation answered, when asked for.
    pub ids: Vec<String>,
    /// Total response bytes.
    pub bytes: u64,
}

impl Outcome {
    pub fn operations(&self) -> u64 {
        self.latencies_us.len() as u64
    }

    pub fn per_second(&self) -> f64 {
        let ok = self.operations().saturating_sub(self.errors) as f64;
        ok / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The q-quantile latency in milliseconds (nearest rank).
    pub fn quantile_ms(&self, q: f64) -> f64 {
        quantile_ms(&self.latencies_us, q)
    }
}

pub fn quantile_ms(sorted_us: &[u64], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted_us.len() as f64).ceil() as usize).clamp(1, sorted_us.len());
    sorted_us[rank - 1] as f64 / 1000.0
}

/// Runs `operation` on `budget.clients` clients against the gateway at `addr`.
pub async fn run(
    addr: SocketAddr,
    budget: Budget,
    operation: Operation,
    collect_ids: bool,
) -> Outcome {
    let started = Instant::now();
    let deadline = started + budget.duration;
    let mut tasks = Vec::with_capacity(budget.clients);
    for client_index in 0..budget.clients {
        let operation = operation.clone();
        tasks.push(tokio::spawn(async move {
            let client = http_client();
            let mut outcome = Outcome::default();
            for iteration in 0..budget.max_operations_per_client {
                if Instant::now() >= deadline {
                    break;
                }
                let steps = operation(client_index, iteration);
                // No steps: this client's share of a fixed amount of work is done.
                if steps.is_empty() {
                    break;
                }
                let op_started = Instant::now();
                let mut failure = None;
                let mut last_body = Bytes::new();
                for step in &steps {
                    match send(&client, addr, step).await {
                        Ok(answer) => {
                            outcome.bytes += answer.body.len() as u64;
                            if !step.expect.contains(&answer.status) {
                                let reason = StatusCode::from_u16(answer.status)
                                    .map(|s| s.to_string())
                                    .unwrap_or_else(|_| answer.status.to_string());
                                let body: String = String::from_utf8_lossy(&answer.body)
                                    .chars()
                                    .take(300)
                                    .collect();
                                failure = Some(format!(
                                    "{} {} -> {reason}: {body}",
                                    step.method, step.path
                                ));
                                break;
                            }
                            last_body = answer.body;
                        }
                        Err(error) => {
                            failure = Some(format!("{} {} -> {error:#}", step.method, step.path));
                            break;
                        }
                    }
                }
                outcome
                    .latencies_us
                    .push(op_started.elapsed().as_micros() as u64);
                match failure {
                    Some(message) => {
                        outcome.errors += 1;
                        outcome.first_error.get_or_insert(message);
                    }
                    None if collect_ids => {
                        if let Some(id) = serde_json::from_slice::<serde_json::Value>(&last_body)
                            .ok()
                            .and_then(|v| v["id"].as_str().map(str::to_owned))
                        {
                            outcome.ids.push(id);
                        }
                    }
                    None => {}
                }
            }
            outcome
        }));
    }
    let mut total = Outcome::default();
    for task in tasks {
        let Ok(outcome) = task.await else {
            total.errors += 1;
            total
                .first_error
                .get_or_insert_with(|| "a client task panicked".into());
            continue;
        };
        total.latencies_us.extend(outcome.latencies_us);
        total.errors += outcome.errors;
        if total.first_error.is_none() {
            total.first_error = outcome.first_error;
        }
        total.ids.extend(outcome.ids);
        total.bytes += outcome.bytes;
    }
    total.elapsed = started.elapsed();
    total.latencies_us.sort_unstable();
    total
}

/// A small deterministic generator (xorshift64*), so runs are repeatable without a crate.
#[derive(Clone, Copy, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// A fresh generator for (client, iteration), so operations need no shared state.
    pub fn for_operation(salt: u64, client: usize, iteration: u64) -> Self {
        Self::new(salt ^ ((client as u64) << 48) ^ iteration.wrapping_mul(0xD129_0D2E_7F0B_A2B1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let us: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(quantile_ms(&us, 0.5), 50.0);
        assert_eq!(quantile_ms(&us, 0.99), 99.0);
        assert_eq!(quantile_ms(&us, 1.0), 100.0);
        assert_eq!(quantile_ms(&[], 0.5), 0.0);
        assert_eq!(quantile_ms(&[7000], 0.99), 7.0);
    }

    #[test]
    fn rng_stays_in_range_and_differs_per_client() {
        let mut a = Rng::for_operation(1, 0, 5);
        let mut b = Rng::for_operation(1, 1, 5);
        assert_ne!(a.next(), b.next());
        let mut r = Rng::new(42);
        assert!((0..1000).all(|_| r.below(10) < 10));
    }
}
