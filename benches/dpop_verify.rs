//! The per-request cost of DPoP on `/v1/verify`, next to a bearer token, for
//! docs/benchmarks.md: `cargo bench --bench dpop_verify` (release build; `BENCH_N` proofs per
//! measurement, 20 000 by default). It prints figures and asserts only that every call
//! succeeded — speed is never asserted.
//!
//! wrk replays one request and a DPoP proof is good once, so this drives the app in process,
//! with the integration suite's own helpers (`spawn_app`, the phone, the DPoP client). Proofs
//! are made before the clock starts: a real client makes its own.

// A benchmark fails by panicking, as tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use nod::config::SigningAlgorithm;

#[allow(
    dead_code,
    unused_imports,
    reason = "the suite's helpers, of which this uses a few"
)]
#[path = "../tests/api/helpers/mod.rs"]
mod helpers;
#[allow(dead_code, reason = "the suite's database setup, which helpers needs")]
#[path = "../tests/api/test_database.rs"]
mod test_database;

use helpers::{API_URL, ClientKey, access, spawn_app_with};

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(dpop_verify_cost());
}

async fn dpop_verify_cost() {
    let n: u32 = std::env::var("BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    // The test clock stands still, so every proof spent here stays inside its window and in the
    // replay cache, which refuses new proofs (503) rather than forget a live one: room for the
    // five batches of `n` this spends, and the bound sign-in's two.
    let app = spawn_app_with(|s| {
        s.tokens.dpop_replay_cache = 5 * usize::try_from(n).unwrap() + 10;
    })
    .await;
    let phone = app.user_with_phone("alice").await;
    let bearer = access(&app.sign_in(&phone).await);

    // In-process: the cached bearer check against the proof check, per call.
    let keys = app.state.keys.snapshot();
    let now = app.now_secs();
    app.state.verifier.verify(&keys, &bearer, now).unwrap();
    let started = Instant::now();
    for _ in 0..n {
        app.state.verifier.verify(&keys, &bearer, now).unwrap();
    }
    let bearer_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    println!("bearer token check (verified-token cache hit): {bearer_us:.2} µs");
    for alg in [SigningAlgorithm::EdDSA, SigningAlgorithm::ES256] {
        let key = ClientKey::new(alg);
        let proofs: Vec<String> = (0..n)
            .map(|_| key.proof_at("GET", API_URL, now, Some(&bearer)))
            .collect();
        let target = nod::auth::dpop::ProofTarget {
            method: "GET",
            url: API_URL,
            access_token: Some(&bearer),
            expected_jkt: Some(&key.jkt),
            nonces: None,
        };
        let started = Instant::now();
        for proof in &proofs {
            app.state.dpop.check(proof, &target, now).unwrap();
        }
        let us = started.elapsed().as_secs_f64() * 1e6 / f64::from(n);
        println!("DPoP proof check, {alg:?}: {us:.2} µs");
    }

    // End to end over loopback: 64 concurrent callers, durable audit, bearer vs DPoP (EdDSA).
    let key = ClientKey::new(SigningAlgorithm::EdDSA);
    let bound = access(&app.bound_sign_in(&phone, &key).await);
    let calls = usize::try_from(n).unwrap();
    let mut ratios = Vec::new();
    for round in 1..=3 {
        let now = app.now_secs();
        let proofs: Vec<String> = (0..calls)
            .map(|_| key.proof_at("GET", API_URL, now, Some(&bound)))
            .collect();
        let b = throughput(calls, |_| app.verify(&bearer)).await;
        let d = throughput(calls, |i| app.verify_dpop(&bound, Some(&proofs[i]), "GET")).await;
        println!(
            "round {round}: bearer {b:.0} req/s, DPoP {d:.0} req/s, ratio {:.3}",
            d / b
        );
        ratios.push(d / b);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "DPoP/bearer throughput ratio (median of rounds): {:.3}",
        ratios[1]
    );
}

/// Requests per second of `calls` calls of `call(i)` from 64 concurrent callers; each must
/// answer 200.
async fn throughput<'a, F, Fut>(calls: usize, call: F) -> f64
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = reqwest::Response> + 'a,
{
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let callers = (0..64).map(|_| async {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= calls {
                break;
            }
            assert_eq!(call(i).await.status(), 200);
        }
    });
    futures_util::future::join_all(callers).await;
    calls as f64 / started.elapsed().as_secs_f64()
}
