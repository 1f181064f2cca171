//! Fleet simulation: many sync engines of one app against the shared rate
//! limit of the IM server, through an outage and the recovery after it.
//!
//! Every engine is the daemon's real sync worker with its own store, HTTP
//! client and token cache. The engines share one process, one connection
//! pool and a few database threads. The stand-in server runs on loopback
//! in the same process, on a thread of its own.
//!
//! The run has three phases:
//!
//! 1. Setup, with the rate limit off: every engine logs in its own user and
//!    binds a token, and the run waits until the server has them all.
//! 2. Outage: the rate limit is turned on, the server answers 503 to every
//!    call, and every app hands its engine a new token. The engines retry
//!    with back-off for the length of the outage.
//! 3. Recovery: the server answers again. The run measures the time until
//!    every engine has the new token confirmed, the share of calls answered
//!    429, and the most calls the server saw in one second.
//!
//! The ideal recovery time is N / limit: every call a confirmation, the
//! limit used fully. `docs/fleet.md` gives the method and the figures.
//!
//! Run with `cargo bench --bench fleet -- --devices 1000` (see `--help`).

use std::sync::Arc;
use std::thread;
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use clap::Parser;
use pushbind::config::{AppRef, Auth, Secret, ServerConfig, SyncSettings};
use pushbind::store::{BindInput, Store, StorePool, bindings, now_millis};
use pushbind::sync::{self, SyncHandle, http::ImClient};
use pushbind_client::protocol::Event;
use pushbind_standin::{AppSeed, Fault, NotifierSeed, Options, Standin};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

const ORG: &str = "fleet";
const APP: &str = "app";
const APP_KEY: &str = "fleet#app";
const NOTIFIER: &str = "fcm-main";

/// Simulates a fleet of pushbind daemons sharing one app's rate limit.
#[derive(Parser, Debug)]
struct Args {
    /// Number of devices (sync engines).
    #[arg(long, default_value_t = 1000)]
    devices: usize,
    /// Calls per second the server admits for the app.
    #[arg(long, default_value_t = 100)]
    limit: u32,
    /// How long the server returns 503 to every call.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    outage: Duration,
    /// Seconds the server sends in `Retry-After` with a 429; none by
    /// default, as the IM server documents none.
    #[arg(long)]
    retry_after: Option<u64>,
    /// The engines' first retry delay (the daemon's `retry_initial`).
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    retry_initial: Duration,
    /// The engines' longest retry delay (the daemon's `retry_max`).
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    retry_max: Duration,
    /// Time after the recovery at which the run gives up.
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    deadline: Duration,
    /// The fleet size the engines are configured with (`fleet_size`);
    /// the number of devices by default.
    #[arg(long)]
    fleet_size: Option<u32>,
    /// Run the engines without `fleet_size`: doubling back-off only.
    #[arg(long, conflicts_with = "fleet_size")]
    no_pacing: bool,
    /// Threads that run the engines' database jobs.
    #[arg(long, default_value_t = 4)]
    store_threads: usize,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

impl Args {
    fn fleet_window(&self) -> Option<Duration> {
        if self.no_pacing {
            return None;
        }
        let size = self
            .fleet_size
            .unwrap_or(u32::try_from(self.devices).unwrap_or(u32::MAX));
        Some(pushbind::config::fleet_window(size, self.limit))
    }
}

/// One simulated device.
struct Engine {
    sync: SyncHandle,
    store: Store,
    task: tokio::task::JoinHandle<()>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.devices == 0 || args.limit == 0 {
        bail!("--devices and --limit must be at least 1");
    }
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let (standin, url, stop_server) = start_standin(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(simulate(&args, &standin, &url));
    let _ = stop_server.send(());
    let report = result?;
    report.print(&args);
    if report.confirmed < report.devices || report.missing_on_server > 0 {
        bail!(
            "{} of {} devices confirmed, {} new tokens missing on the server",
            report.confirmed,
            report.devices,
            report.missing_on_server
        );
    }
    Ok(())
}

/// Starts the stand-in server on its own thread and runtime, so that the
/// engines' load does not delay its clock, with the rate limits off.
fn start_standin(args: &Args) -> anyhow::Result<(Standin, String, oneshot::Sender<()>)> {
    let standin = Standin::new(Options {
        rate_limit_per_second: None,
        token_rate_limit_per_second: None,
        rate_limit_retry_after: args.retry_after,
        ..Options::default()
    });
    standin.add_app(AppSeed {
        org: ORG.into(),
        name: APP.into(),
        app_id: "fleetapp".into(),
        client_id: "fleet-client".into(),
        client_secret: "fleet-secret".into(),
    });
    standin.add_notifier(APP_KEY, NotifierSeed::new(NOTIFIER, "ANDROID"));
    for device in 0..args.devices {
        standin.add_user(APP_KEY, &user(device));
    }
    let (started, url) = std::sync::mpsc::channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = standin.clone();
    thread::Builder::new()
        .name("standin".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("stand-in runtime starts");
            runtime.block_on(async move {
                let running = server.start("127.0.0.1:0").await;
                let _ = started.send(running.as_ref().map(|r| r.url()).map_err(|e| e.to_string()));
                if let Ok(running) = running {
                    let _ = stopped.await;
                    running.stop().await;
                }
            });
        })?;
    let url = url
        .recv()
        .context("stand-in thread ended")?
        .map_err(anyhow::Error::msg)?;
    Ok((standin, url, stop))
}

fn user(device: usize) -> String {
    format!("user{device}")
}

fn device_id(device: usize) -> String {
    format!("fleet-device-{device}")
}

fn token(device: usize, round: &str) -> String {
    format!("token-{device}-{round}")
}

async fn simulate(args: &Args, standin: &Standin, url: &str) -> anyhow::Result<Report> {
    let pool = StorePool::new(args.store_threads)?;
    let (stop, stopping) = watch::channel(false);
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(15))
        .build()?;
    let server = ServerConfig {
        url: url.parse()?,
        app: AppRef::Key {
            org: ORG.into(),
            app: APP.into(),
        },
        auth: Auth::ClientCredentials {
            client_id: "fleet-client".into(),
            client_secret: Secret::new("fleet-secret"),
        },
    };
    let settings = SyncSettings {
        reconcile_interval: Duration::from_secs(6 * 3600),
        notifier_refresh_interval: Duration::from_secs(3600),
        notifier_max_age: Duration::from_secs(24 * 3600),
        retry_initial: args.retry_initial,
        retry_max: args.retry_max,
        request_timeout: Duration::from_secs(15),
        history_limit: 200,
        fleet_window: args.fleet_window(),
    };

    let started = Instant::now();
    let mut engines = Vec::with_capacity(args.devices);
    for device in 0..args.devices {
        let store = Store::open_in_memory(&pool, settings.history_limit)?;
        let client = ImClient::with_http(http.clone(), &server, None)
            .with_token_wait_max(settings.fleet_window);
        let (sync, task) = sync::spawn(
            store.clone(),
            Ok(Arc::new(client)),
            device_id(device),
            settings.clone(),
            stopping.clone(),
        );
        engines.push(Engine { sync, store, task });
    }
    bind_all(&engines, "a").await?;
    let setup_deadline = Instant::now() + args.deadline;
    wait_confirmed(&engines, "a", setup_deadline).await?;
    eprintln!(
        "setup: {} engines bound in {:.1} s",
        engines.len(),
        started.elapsed().as_secs_f64()
    );

    standin.set_rate_limit(Some(args.limit));
    standin.set_token_rate_limit(Some(300));
    standin.inject(Fault::status(None, u32::MAX, 503));
    let confirmations = watch_confirmations(&engines, "b");
    bind_all(&engines, "b").await?;
    eprintln!("outage: {} s", args.outage.as_secs_f64());
    tokio::time::sleep(args.outage).await;

    standin.clear_faults();
    let recovered_at = SystemTime::now();
    let recovered = Instant::now();
    let confirmed = collect(confirmations, engines.len(), recovered + args.deadline).await;
    let finished = confirmed.last().copied().unwrap_or(recovered);
    let quantiles = [0.5, 0.9, 0.99].map(|q| {
        let index = ((confirmed.len() as f64 * q).ceil() as usize).saturating_sub(1);
        confirmed
            .get(index)
            .map_or(f64::NAN, |at| (*at - recovered).as_secs_f64())
    });

    let _ = stop.send(true);
    for engine in engines.iter_mut() {
        (&mut engine.task).await?;
    }
    let missing = (0..args.devices)
        .filter(|&device| !server_holds(standin, device, &token(device, "b")))
        .count();
    let calls = standin.calls();
    print_timeline(&calls, recovered_at, finished - recovered);
    drop(engines);
    pool.join();
    Ok(Report::new(
        args,
        &calls,
        recovered_at,
        finished - recovered,
        confirmed.len(),
        quantiles,
        missing,
    ))
}

/// Logs every engine in (once) and binds the token of `round`, the way the
/// local API's handlers do.
async fn bind_all(engines: &[Engine], round: &'static str) -> anyhow::Result<()> {
    for (device, engine) in engines.iter().enumerate() {
        let input = BindInput {
            notifier_name: NOTIFIER.into(),
            device_token: token(device, round),
            apns_environment: None,
        };
        let user_id = user(device);
        engine
            .store
            .write(move |tx| {
                let now = now_millis();
                if bindings::current_user(tx)?.is_none() {
                    bindings::login(tx, &user_id, None, now)?;
                }
                bindings::bind(tx, &input, now)
            })
            .await?;
        engine.sync.logged_in();
        engine.sync.kick();
    }
    Ok(())
}

/// Waits until every engine's binding of `round` is confirmed, reading
/// each engine's store.
async fn wait_confirmed(
    engines: &[Engine],
    round: &'static str,
    deadline: Instant,
) -> anyhow::Result<()> {
    for (device, engine) in engines.iter().enumerate() {
        let fingerprint = pushbind::fingerprint::fingerprint(&token(device, round));
        loop {
            let views = engine.store.read(pushbind::store::status::bindings).await?;
            if views
                .iter()
                .any(|view| view.confirmed_token.as_deref() == Some(fingerprint.as_str()))
            {
                break;
            }
            if Instant::now() > deadline {
                bail!("device {device} never confirmed its setup binding");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// Subscribes to every engine's events and sends (device, instant) when the
/// token of `round` is confirmed.
fn watch_confirmations(
    engines: &[Engine],
    round: &'static str,
) -> mpsc::UnboundedReceiver<(usize, Instant)> {
    let (sender, receiver) = mpsc::unbounded_channel();
    for (device, engine) in engines.iter().enumerate() {
        let mut events = engine.sync.subscribe();
        let sender = sender.clone();
        let wanted = pushbind::fingerprint::fingerprint(&token(device, round));
        tokio::spawn(async move {
            while let Ok(event) = events.recv().await {
                if let Event::BindingConfirmed { device_token, .. } = event
                    && device_token.as_deref() == Some(wanted.as_str())
                {
                    let _ = sender.send((device, Instant::now()));
                    return;
                }
            }
        });
    }
    receiver
}

/// Collects confirmations until every engine reported one or `deadline`
/// passed; returns when each came, in order.
async fn collect(
    mut receiver: mpsc::UnboundedReceiver<(usize, Instant)>,
    expected: usize,
    deadline: Instant,
) -> Vec<Instant> {
    let mut seen = vec![false; expected];
    let mut times = Vec::with_capacity(expected);
    while times.len() < expected {
        match tokio::time::timeout_at(deadline, receiver.recv()).await {
            Ok(Some((device, at))) => {
                if !std::mem::replace(&mut seen[device], true) {
                    times.push(at);
                }
            }
            Ok(None) | Err(_) => break,
        }
    }
    times
}

fn server_holds(standin: &Standin, device: usize, token: &str) -> bool {
    let id = device_id(device);
    standin
        .bindings(APP_KEY, &user(device))
        .iter()
        .any(|b| b.device_id == id && b.notifier_name == NOTIFIER && b.device_token == token)
}

/// The figures of one run.
#[derive(Debug, serde::Serialize)]
struct Report {
    devices: usize,
    limit: u32,
    outage_s: f64,
    retry_after_s: Option<u64>,
    retry_initial_s: f64,
    retry_max_s: f64,
    /// Period of paced retries, or `None` without `fleet_size`.
    fleet_window_s: Option<f64>,
    /// Engines whose new binding was confirmed before the deadline.
    confirmed: usize,
    /// Engines whose new binding the server does not hold at the end.
    missing_on_server: usize,
    recovery_s: f64,
    /// Seconds after the recovery by which half, 90 % and 99 % of the
    /// engines had their binding confirmed.
    confirmed_quantiles_s: [f64; 3],
    ideal_s: f64,
    ratio: f64,
    calls: usize,
    calls_429: usize,
    share_429: f64,
    peak_calls_per_s: usize,
    calls_by_route: Vec<(String, usize)>,
}

impl Report {
    fn new(
        args: &Args,
        calls: &[pushbind_standin::Call],
        recovered_at: SystemTime,
        recovery: Duration,
        confirmed: usize,
        quantiles: [f64; 3],
        missing: usize,
    ) -> Self {
        let end = recovered_at + recovery;
        let window: Vec<_> = calls
            .iter()
            .filter(|call| call.at >= recovered_at && call.at <= end)
            .collect();
        let calls_429 = window.iter().filter(|call| call.status == 429).count();
        let mut per_second = std::collections::HashMap::<u64, usize>::new();
        let mut by_route = std::collections::BTreeMap::<String, usize>::new();
        for call in &window {
            let second = call
                .at
                .duration_since(recovered_at)
                .unwrap_or_default()
                .as_secs();
            *per_second.entry(second).or_default() += 1;
            *by_route.entry(call.route.name().into()).or_default() += 1;
        }
        let ideal = args.devices as f64 / f64::from(args.limit);
        let recovery_s = recovery.as_secs_f64();
        Self {
            devices: args.devices,
            limit: args.limit,
            outage_s: args.outage.as_secs_f64(),
            retry_after_s: args.retry_after,
            retry_initial_s: args.retry_initial.as_secs_f64(),
            retry_max_s: args.retry_max.as_secs_f64(),
            fleet_window_s: args.fleet_window().map(|window| window.as_secs_f64()),
            confirmed,
            missing_on_server: missing,
            recovery_s,
            confirmed_quantiles_s: quantiles,
            ideal_s: ideal,
            ratio: recovery_s / ideal,
            calls: window.len(),
            calls_429,
            share_429: calls_429 as f64 / window.len().max(1) as f64,
            peak_calls_per_s: per_second.values().copied().max().unwrap_or(0),
            calls_by_route: by_route.into_iter().collect(),
        }
    }

    fn print(&self, args: &Args) {
        if args.json {
            println!(
                "{}",
                serde_json::to_string(self).expect("report serializes")
            );
            return;
        }
        println!("devices            {}", self.devices);
        println!("rate limit         {} calls/s", self.limit);
        println!("outage             {:.0} s", self.outage_s);
        match self.fleet_window_s {
            Some(window) => println!("paced retries      every {window:.1} s"),
            None => println!(
                "paced retries      off (back-off {:.0} s to {:.0} s)",
                self.retry_initial_s, self.retry_max_s
            ),
        }
        println!(
            "confirmed          {} of {} ({} missing on the server)",
            self.confirmed, self.devices, self.missing_on_server
        );
        println!(
            "recovery           {:.1} s (ideal {:.1} s, {:.2} x)",
            self.recovery_s, self.ideal_s, self.ratio
        );
        let [p50, p90, p99] = self.confirmed_quantiles_s;
        println!("confirmed by       {p50:.1} s (50 %), {p90:.1} s (90 %), {p99:.1} s (99 %)");
        println!(
            "calls              {} ({} answered 429: {:.1} %)",
            self.calls,
            self.calls_429,
            self.share_429 * 100.0
        );
        println!("peak               {} calls/s", self.peak_calls_per_s);
        for (route, count) in &self.calls_by_route {
            println!("  {route:<16} {count}");
        }
    }
}

/// Prints to standard error how many calls the server received in each
/// tenth of the recovery, by response status.
fn print_timeline(calls: &[pushbind_standin::Call], recovered_at: SystemTime, recovery: Duration) {
    let step = (recovery / 10).max(Duration::from_secs(1));
    let mut rows = std::collections::BTreeMap::<u64, [usize; 3]>::new();
    for call in calls {
        let Ok(since) = call.at.duration_since(recovered_at) else {
            continue;
        };
        if since > recovery {
            continue;
        }
        let row = rows
            .entry(since.as_millis() as u64 / step.as_millis() as u64)
            .or_default();
        match call.status {
            200 => row[0] += 1,
            429 => row[1] += 1,
            _ => row[2] += 1,
        }
    }
    eprintln!("from recovery      200    429  other");
    for (index, [ok, limited, other]) in rows {
        let from = step * index as u32;
        eprintln!(
            "{:>8.1} s  {ok:>9} {limited:>6} {other:>6}",
            from.as_secs_f64()
        );
    }
}
