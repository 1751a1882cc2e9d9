//! The routing benchmark: the routing table of a large account (1,000 extensions, 100 ring
//! groups, 50 IVR menus and 500 numbers), compiled first in memory. Then the same account is
//! built through the product's use cases, and its table is read over HTTP and on the portal's
//! routing page.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tandem::config::Settings;
use tandem::Server;
use tandem_app::access::PlatformAdmin;
use tandem_app::numbers::NumberLine;
use tandem_app::pbx::ObjectInput;
use tandem_domain::pbx::{
    AccountConfig, Destination, ExtensionSettings, Greeting, InboundNumber, IvrSettings, Member,
    ObjectSettings, OutboundPolicy, PbxObject, RingGroupSettings, RingStrategy, ShortNumber,
};
use tandem_domain::{Country, LedgerKind, PbxObjectId, Permission, Role, TimeZoneName};

/// A global allocator that can count the bytes allocated and their peak over one stretch of
/// code, so a run can report the memory one compilation needs. Outside [`peak_allocated`] it
/// only reads one flag: the server that the other phases measure runs in this process, and
/// shared counters on every allocation would slow it down where `tandem serve` has none.
pub struct CountingAllocator;

static COUNTING: AtomicBool = AtomicBool::new(false);
static IN_USE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn counted(grown: isize) {
    if COUNTING.load(Ordering::Relaxed) {
        let now = IN_USE.fetch_add(grown, Ordering::Relaxed) + grown;
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
}

/// Runs `work` and returns its result with the most bytes that were allocated at once during
/// it, beyond those allocated before it began (blocks freed during it count as negative).
pub fn peak_allocated<T>(work: impl FnOnce() -> T) -> (T, usize) {
    IN_USE.store(0, Ordering::Relaxed);
    PEAK.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::SeqCst);
    let result = work();
    COUNTING.store(false, Ordering::SeqCst);
    (result, PEAK.load(Ordering::Relaxed).max(0) as usize)
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = System.alloc(layout);
        if !pointer.is_null() {
            counted(layout.size() as isize);
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // The system's calloc skips zeroing pages that the kernel hands out zeroed, as a
        // program without this allocator would.
        let pointer = System.alloc_zeroed(layout);
        if !pointer.is_null() {
            counted(layout.size() as isize);
        }
        pointer
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = System.realloc(pointer, layout, new_size);
        if !moved.is_null() {
            counted(new_size as isize - layout.size() as isize);
        }
        moved
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        System.dealloc(pointer, layout);
        counted(-(layout.size() as isize));
    }
}

/// The size of the account the benchmark builds.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub extensions: usize,
    pub ring_groups: usize,
    pub ivr_menus: usize,
    pub numbers: usize,
}

impl Shape {
    pub const LARGE: Shape = Shape {
        extensions: 1000,
        ring_groups: 100,
        ivr_menus: 50,
        numbers: 500,
    };
}

/// Short numbers: extensions from 1000, ring groups from 6000, IVR menus from 7000.
fn short(base: usize, index: usize) -> String {
    (base + index).to_string()
}

/// Builds the account in memory: every ring group rings ten extensions and falls back to an
/// extension's voicemail; every IVR menu offers nine ring groups; numbers alternate between
/// IVR menus and ring groups; a tenth of the extensions forward on no answer to a ring group.
pub fn synthetic_account(shape: Shape) -> AccountConfig {
    let ext_ids: Vec<PbxObjectId> = (0..shape.extensions).map(|_| PbxObjectId::new()).collect();
    let group_ids: Vec<PbxObjectId> = (0..shape.ring_groups).map(|_| PbxObjectId::new()).collect();
    let menu_ids: Vec<PbxObjectId> = (0..shape.ivr_menus).map(|_| PbxObjectId::new()).collect();
    let mut objects = Vec::new();
    for (index, id) in ext_ids.iter().enumerate() {
        let forward = (index % 10 == 0 && !group_ids.is_empty())
            .then(|| Destination::Object(group_ids[index % group_ids.len()].clone()));
        objects.push(PbxObject {
            id: id.clone(),
            short_number: Some(ShortNumber::parse(&short(1000, index)).expect("short number")),
            name: format!("Person {index}"),
            settings: ObjectSettings::Extension(ExtensionSettings {
                user_id: None,
                caller_id: None,
                voicemail: true,
                forward_always: None,
                forward_busy: None,
                forward_no_answer: forward,
                no_answer_seconds: 20,
                forward_unreachable: None,
            }),
            version: 1,
        });
    }
    for (index, id) in group_ids.iter().enumerate() {
        let members = (0..10)
            .map(|k| Member::Extension(ext_ids[(index * 10 + k) % ext_ids.len()].clone()))
            .collect();
        objects.push(PbxObject {
            id: id.clone(),
            short_number: Some(ShortNumber::parse(&short(6000, index)).expect("short number")),
            name: format!("Team {index}"),
            settings: ObjectSettings::RingGroup(RingGroupSettings {
                members,
                strategy: RingStrategy::Simultaneous,
                ring_seconds: 20,
                // Extension 1001 and up never forward, so no group can loop back to itself.
                no_answer: Destination::Object(ext_ids[1 + index % 9].clone()),
            }),
            version: 1,
        });
    }
    for (index, id) in menu_ids.iter().enumerate() {
        let options = (1..=9u8)
            .map(|digit| {
                let group = &group_ids[(index * 9 + usize::from(digit)) % group_ids.len()];
                (char::from(b'0' + digit), Destination::Object(group.clone()))
            })
            .collect::<BTreeMap<_, _>>();
        objects.push(PbxObject {
            id: id.clone(),
            short_number: Some(ShortNumber::parse(&short(7000, index)).expect("short number")),
            name: format!("Menu {index}"),
            settings: ObjectSettings::IvrMenu(IvrSettings {
                greeting: Greeting::Text("Press a key".into()),
                options,
                timeout_seconds: 5,
                timeout: Destination::Object(group_ids[index % group_ids.len()].clone()),
                invalid: Destination::Hangup,
                repeat: 3,
            }),
            version: 1,
        });
    }
    let numbers = (0..shape.numbers)
        .map(|index| InboundNumber {
            number: format!("+64940{:05}", 10_000 + index),
            live: true,
            destination: Some(if index % 2 == 0 {
                Destination::Object(menu_ids[index % menu_ids.len()].clone())
            } else {
                Destination::Object(group_ids[index % group_ids.len()].clone())
            }),
        })
        .collect();
    AccountConfig {
        time_zone: TimeZoneName::parse("Pacific/Auckland").expect("zone"),
        country: Country::parse("NZ").expect("NZ"),
        objects,
        numbers,
        policy: OutboundPolicy::default(),
    }
}

/// Latencies of repeated runs, sorted.
struct Timings(Vec<Duration>);

impl Timings {
    fn percentile(&self, p: f64) -> Duration {
        let index = ((self.0.len() as f64 - 1.0) * p).round() as usize;
        self.0[index]
    }

    fn line(&self) -> String {
        format!(
            "p50 {:>7.2} ms   p99 {:>7.2} ms   ({} runs)",
            ms(self.percentile(0.5)),
            ms(self.percentile(0.99)),
            self.0.len()
        )
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

async fn time<F, Fut>(runs: usize, mut f: F) -> anyhow::Result<Timings>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        f().await?;
        samples.push(start.elapsed());
    }
    samples.sort();
    Ok(Timings(samples))
}

/// Runs the whole routing benchmark and prints its report.
pub async fn run(
    settings: &Settings,
    store: &tandem_store::Store,
    runs: usize,
) -> anyhow::Result<()> {
    let shape = Shape::LARGE;
    println!(
        "Routing table of one account: {} extensions, {} ring groups, {} IVR menus, {} numbers",
        shape.extensions, shape.ring_groups, shape.ivr_menus, shape.numbers
    );

    // In memory.
    let config = synthetic_account(shape);
    // The first phone-number parse loads libphonenumber's metadata; keep it out of the figures.
    config.compile().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let (table, peak) = peak_allocated(|| config.compile());
    let table = table.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let json = serde_json::to_vec(&table)?;
    drop(table);
    let compile = time(runs, || async {
        config.compile().map_err(|e| anyhow::anyhow!("{e:?}"))?;
        Ok(())
    })
    .await?;
    println!("  compile in memory            {}", compile.line());
    println!(
        "  compile memory               peak {:.1} MB allocated during one compilation; table \
         as JSON {:.1} MB",
        peak as f64 / 1_048_576.0,
        json.len() as f64 / 1_048_576.0
    );

    // Through the product.
    eprintln!("building the account through the use cases (this takes a while)");
    let app = tandem::build_app(store.clone(), settings);
    let tenant = crate::creation::create_tenant(&app).await?;
    let platform = PlatformAdmin::command_line();
    app.post_white_label_balance(
        &platform,
        &tenant.white_label_id,
        LedgerKind::TopUp,
        "100000.00",
        "routing benchmark",
    )
    .await?;
    let server = Server::start(app.clone(), settings)
        .await
        .context("starting the server")?;
    let base = format!("http://{}", server.address);
    let client = reqwest::Client::new();
    let created: serde_json::Value = client
        .post(format!("{base}/api/v1/customers"))
        .bearer_auth(&tenant.api_key)
        .json(&crate::creation::customer_body(
            &tenant.plan_id,
            "Routing Bench",
        ))
        .send()
        .await?
        .json()
        .await?;
    let Some(customer) = created["id"].as_str().map(str::to_owned) else {
        bail!("creating the account failed: {created}");
    };
    let principal = app
        .api_key_principal(&tenant.api_key, None)
        .await?
        .context("the benchmark's API key")?;
    let customer_id = tandem_domain::CustomerId::parse(&customer).map_err(anyhow::Error::msg)?;
    let op =
        principal.account_operator(&tenant.white_label_id, &customer_id, Permission::ManagePbx)?;

    let started = Instant::now();
    let mut ids = BTreeMap::new();
    for object in &config.objects {
        let mut input = ObjectInput {
            number: object
                .short_number
                .as_ref()
                .map(|n| n.to_string())
                .unwrap_or_default(),
            name: object.name.clone(),
            ..ObjectInput::default()
        };
        let resolve = |d: &Destination| match d {
            Destination::Object(id) => ids.get(id).cloned().unwrap_or_default(),
            Destination::External(number) => number.clone(),
            Destination::Hangup => "hangup".to_owned(),
        };
        match &object.settings {
            // Forwarding is set after the ring groups exist.
            ObjectSettings::Extension(_) => input.voicemail = Some(true),
            ObjectSettings::RingGroup(group) => {
                input.members = group
                    .members
                    .iter()
                    .map(|m| match m {
                        Member::Extension(id) => ids[id].clone(),
                        Member::External(number) => number.clone(),
                    })
                    .collect();
                input.no_answer = Some(resolve(&group.no_answer));
            }
            ObjectSettings::IvrMenu(menu) => {
                input.greeting_text = Some("Press a key".into());
                input.options = menu
                    .options
                    .iter()
                    .map(|(k, d)| (k.to_string(), resolve(d)))
                    .collect();
                input.timeout = Some(resolve(&menu.timeout));
            }
            _ => {}
        }
        let kind = object.settings.kind();
        let saved = app.create_pbx_object(&op, kind, &input, false).await?;
        ids.insert(object.id.clone(), saved.object.id.to_string());
    }
    for object in &config.objects {
        if let ObjectSettings::Extension(ext) = &object.settings {
            if let Some(Destination::Object(target)) = &ext.forward_no_answer {
                let input = ObjectInput {
                    number: object
                        .short_number
                        .as_ref()
                        .map(|n| n.to_string())
                        .unwrap_or_default(),
                    name: object.name.clone(),
                    voicemail: Some(true),
                    forward_no_answer: Some(ids[target].clone()),
                    version: Some(1),
                    ..ObjectInput::default()
                };
                let id = PbxObjectId::parse(&ids[&object.id]).map_err(anyhow::Error::msg)?;
                app.update_pbx_object(&op, &id, &input).await?;
            }
        }
    }
    let lines: Vec<NumberLine> = config
        .numbers
        .iter()
        .enumerate()
        .map(|(index, n)| NumberLine {
            line: index + 1,
            number: n.number.clone(),
            country: "NZ".into(),
        })
        .collect();
    app.load_numbers(&platform, &lines, None, &|_| {}).await?;
    let number_op = principal.account_operator(
        &tenant.white_label_id,
        &customer_id,
        Permission::ManageNumbers,
    )?;
    for number in &config.numbers {
        let (view, _) = app.assign_number(&number_op, &number.number, false).await?;
        if let Some(Destination::Object(target)) = &number.destination {
            app.route_number(&op, &number.number, &ids[target], view.version)
                .await?;
        }
    }
    let build = started.elapsed();
    println!(
        "  build through the use cases  {:.1} s for {} objects and {} numbers ({:.1} ms per change)",
        build.as_secs_f64(),
        config.objects.len(),
        config.numbers.len(),
        ms(build) / (config.objects.len() + config.numbers.len() * 2) as f64
    );

    let routing = time(runs, || async {
        let response = client
            .get(format!("{base}/api/v1/customers/{customer}/routing"))
            .bearer_auth(&tenant.api_key)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("GET routing: {}", response.status());
        }
        response.bytes().await?;
        Ok(())
    })
    .await?;
    println!("  GET /customers/{{id}}/routing {}", routing.line());
    let trace = time(runs, || async {
        let response = client
            .get(format!(
                "{base}/api/v1/customers/{customer}/routing/trace?number=%2B6494010000"
            ))
            .bearer_auth(&tenant.api_key)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("GET trace: {}", response.status());
        }
        response.bytes().await?;
        Ok(())
    })
    .await?;
    println!("  GET …/routing/trace          {}", trace.line());

    // The portal page, as the white label's administrator sees it.
    let email = "admin@bench.example";
    let password = "routing benchmark password";
    app.ensure_user_with_role(
        email,
        "Bench Admin",
        password,
        Role::WhiteLabel,
        Some(&tenant.white_label_id),
    )
    .await?;
    let session = app.sign_in(email, password, None).await?;
    let portal = reqwest::Client::builder()
        .resolve("bench.localhost", server.address)
        .build()?;
    let page_url = format!(
        "http://bench.localhost:{}/accounts/{customer}/routing?number=%2B6494010000",
        server.address.port()
    );
    let page = time(runs, || async {
        let response = portal
            .get(&page_url)
            .header("cookie", format!("tandem_session={}", session.token))
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("GET the routing page: {}", response.status());
        }
        response.bytes().await?;
        Ok(())
    })
    .await?;
    println!("  portal routing page          {}", page.line());
    server.abort();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_synthetic_account_compiles() {
        let shape = Shape {
            extensions: 30,
            ring_groups: 5,
            ivr_menus: 2,
            numbers: 10,
        };
        let table = synthetic_account(shape).compile().expect("compiles");
        assert_eq!(table.entries.len(), 30 + 5 + 2 + 10);
    }
}
