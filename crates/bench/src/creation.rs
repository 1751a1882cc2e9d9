//! Mode 2 (`white_label_managed`) customer creation through `POST /api/v1/customers`: the white
//! label the requests act for, and the concurrent clients that send them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Value};
use tandem_app::access::PlatformAdmin;
use tandem_app::plans::PlanInput;
use tandem_app::white_labels::WhiteLabelInput;
use tandem_app::App;
use tandem_domain::{LedgerKind, WhiteLabelId};

/// The top-up in NZD. One creation charges 101.20 NZD (setup fee 49.00 and monthly fee 39.00,
/// each with 15 % GST), so this pays for about ten million creations.
const TOP_UP_NZD: &str = "1000000000.00";

/// How long a client waits for one response before counting it as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The white label the creation requests act for.
#[derive(Clone)]
pub struct Tenant {
    pub white_label_id: WhiteLabelId,
    pub api_key: String,
    pub plan_id: String,
}

/// Creates a funded white label with a plan and an API key, as the integration tests do.
pub async fn create_tenant(app: &App) -> anyhow::Result<Tenant> {
    let platform = PlatformAdmin::command_line();
    let white_label = app
        .create_white_label(
            &platform,
            &WhiteLabelInput {
                name: "Bench Telecom".into(),
                hosts: "bench.localhost".into(),
                country: "NZ".into(),
                currency: "NZD".into(),
                support_email: "support@bench.example".into(),
                primary_colour: "#0b6e4f".into(),
                tax_name: "GST".into(),
                tax_rate_percent: "15".into(),
                show_prices_with_tax: true,
                ..WhiteLabelInput::default()
            },
        )
        .await
        .context("creating the white label")?;
    app.post_white_label_balance(
        &platform,
        &white_label.id,
        LedgerKind::TopUp,
        TOP_UP_NZD,
        "benchmark funds",
    )
    .await
    .context("topping up the white label")?;
    let admin = platform.for_white_label(&white_label.id);
    let plan = app
        .create_plan(
            &admin,
            &PlanInput {
                name: "Business".into(),
                description: "Ten extensions".into(),
                setup_fee: "49.00".into(),
                monthly_fee: "39.00".into(),
                included_extensions: "10".into(),
                extra_extension_fee: "5.00".into(),
                number_rental: "5.00".into(),
                min_opening_credit: "50.00".into(),
            },
        )
        .await
        .context("creating the plan")?;
    let key = app
        .create_api_key(&admin, "benchmark")
        .await
        .context("creating the API key")?;
    Ok(Tenant {
        white_label_id: white_label.id,
        api_key: key.secret,
        plan_id: plan.id.to_string(),
    })
}

/// Builds a mode 2 creation request with the body that the integration tests send.
pub fn customer_body(plan_id: &str, legal_name: &str) -> Value {
    json!({
        "mode": "white_label_managed",
        "plan_id": plan_id,
        "business": {"legal_name": legal_name, "trading_name": format!("{legal_name} Trading")},
        "contact": {"given_name": "Aroha", "family_name": "Ngata", "email": "aroha@kauri.example",
                    "phone": "021 123 4567", "job_title": "Director"},
        "billing_address": {"line1": "12 Queen Street", "suburb": "Auckland Central",
                            "city": "Auckland", "postcode": "1010", "country": "NZ"},
        "service_address": {"same_as_billing": true},
        "time_zone": "Pacific/Auckland"
    })
}

/// The outcome of the creation phase.
#[derive(Debug, Default)]
pub struct CreationRun {
    /// Responses with status 201.
    pub created: u64,
    /// The latency of every completed request, failed ones included.
    pub latencies: Vec<Duration>,
    /// Failed requests by status code, or "no response" when the request itself failed.
    pub failures: BTreeMap<String, u64>,
    /// The body or error of the first failed request.
    pub first_failure: Option<String>,
    pub elapsed: Duration,
}

impl CreationRun {
    /// Created customers per second of wall-clock time.
    pub fn per_second(&self) -> f64 {
        self.created as f64 / self.elapsed.as_secs_f64()
    }

    /// The number of requests that did not return 201.
    pub fn errors(&self) -> u64 {
        self.failures.values().sum()
    }

    fn absorb(&mut self, other: CreationRun) {
        self.created += other.created;
        self.latencies.extend(other.latencies);
        for (status, count) in other.failures {
            *self.failures.entry(status).or_default() += count;
        }
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
    }
}

/// Sends creation requests to `base_url` from `clients` concurrent clients for `duration`.
///
/// Requests still in flight at the deadline finish and are counted, and the rate divides by the
/// time until the last client ends.
pub async fn run(
    base_url: &str,
    tenant: &Tenant,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<CreationRun> {
    // no_proxy: the requests go to the loopback server even when a proxy is configured.
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .context("building the HTTP client")?;
    let url: Arc<str> = Arc::from(format!("{base_url}/api/v1/customers"));
    let tenant = Arc::new(tenant.clone());
    let started = Instant::now();
    let deadline = started + duration;
    let mut handles = Vec::with_capacity(clients);
    for index in 0..clients {
        let client = client.clone();
        let url = url.clone();
        let tenant = tenant.clone();
        handles.push(tokio::spawn(async move {
            create_until(&client, &url, &tenant, index, deadline).await
        }));
    }
    let mut total = CreationRun::default();
    for handle in handles {
        total.absorb(handle.await.context("client task panicked")?);
    }
    total.elapsed = started.elapsed();
    Ok(total)
}

async fn create_until(
    client: &reqwest::Client,
    url: &str,
    tenant: &Tenant,
    index: usize,
    deadline: Instant,
) -> CreationRun {
    let mut run = CreationRun::default();
    let mut sent = 0u64;
    while Instant::now() < deadline {
        let legal_name = format!("Bench Customer {index}-{sent}");
        sent += 1;
        let body = customer_body(&tenant.plan_id, &legal_name);
        let started = Instant::now();
        let outcome = send(client, url, &tenant.api_key, &body).await;
        run.latencies.push(started.elapsed());
        match outcome {
            Ok((201, _)) => run.created += 1,
            Ok((status, text)) => {
                *run.failures.entry(status.to_string()).or_default() += 1;
                run.first_failure
                    .get_or_insert_with(|| format!("status {status}: {text}"));
            }
            Err(error) => {
                *run.failures.entry("no response".to_string()).or_default() += 1;
                run.first_failure
                    .get_or_insert_with(|| format!("{error:#}"));
            }
        }
    }
    run
}

async fn send(
    client: &reqwest::Client,
    url: &str,
    api_key: &str,
    body: &Value,
) -> anyhow::Result<(u16, String)> {
    let response = client
        .post(url)
        .bearer_auth(api_key)
        .json(body)
        .send()
        .await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    Ok((status, text))
}
