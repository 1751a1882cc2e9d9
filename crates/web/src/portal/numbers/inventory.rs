//! The platform's inventory of numbers: counts by state, search, loading from a list, a range
//! or a CSV file, and allocation to white labels' pools. Platform Administrators only.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tandem_app::numbers::{
    expand_range, parse_numbers_csv, LoadReport, NumberLine, NumberSearch, NumberView,
    NUMBER_STATES,
};
use tandem_app::{AppError, FieldError};
use tandem_domain::{Country, PhoneNumber, WhiteLabelId};

use super::super::forms::{tokens_match, Posted, CSRF_FIELD};
use super::super::{error_page, render, Chrome, Form, PlatformPortal};
use super::{
    form_status, international, join_sentences, merge_list_errors, number_state_label, text_lines,
    PAGE_SIZE,
};
use crate::AppState;

/// Names a pool for people: a white label's pool by the white label's name, or the platform's.
async fn pool_name(
    state: &AppState,
    portal: &PlatformPortal,
    pool: Option<&WhiteLabelId>,
) -> String {
    let Some(id) = pool else {
        return "the platform's pool".to_string();
    };
    match state.app.white_label_by_id(&portal.admin, id).await {
        Ok(white_label) => format!("{}'s pool", white_label.name),
        Err(error) => {
            // The numbers are already stored, so the page names the pool by its id instead.
            tracing::warn!(%error, white_label.id = %id, "white label of a number pool not read");
            format!("the pool of {id}")
        }
    }
}

/// Lists the white labels as options of a select: id and name.
async fn white_label_options(
    state: &AppState,
    portal: &PlatformPortal,
) -> Result<Vec<(String, String)>, AppError> {
    let rows = state.app.list_white_labels(&portal.admin).await?;
    Ok(rows
        .iter()
        .map(|wl| (wl.id.to_string(), wl.name.clone()))
        .collect())
}

/// Filters of the inventory search, as entered.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct InventoryQuery {
    country: String,
    area_code: String,
    prefix: String,
    state: String,
    after: String,
}

impl InventoryQuery {
    fn search(&self) -> NumberSearch {
        let present = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        NumberSearch {
            country: present(&self.country),
            area_code: present(&self.area_code),
            prefix: present(&self.prefix),
            state: present(&self.state),
            after: present(&self.after),
            limit: Some(PAGE_SIZE),
        }
    }

    fn form(&self) -> Form {
        let mut form = Form::default();
        for (key, value) in [
            ("country", &self.country),
            ("area_code", &self.area_code),
            ("prefix", &self.prefix),
            ("state", &self.state),
        ] {
            form.values.insert(key.to_string(), value.clone());
        }
        form
    }

    /// Builds the address of the page after the one that ends with `last`.
    fn next_href(&self, last: &str) -> String {
        let query = serde_urlencoded::to_string([
            ("country", self.country.as_str()),
            ("area_code", self.area_code.as_str()),
            ("prefix", self.prefix.as_str()),
            ("state", self.state.as_str()),
            ("after", last),
        ])
        .unwrap_or_default();
        format!("/platform/numbers?{query}")
    }
}

/// A number as a row of the inventory.
struct InventoryLine {
    international: String,
    country: String,
    area_code: String,
    number_type: String,
    state: String,
    pool: String,
    account: String,
}

#[derive(Template)]
#[template(path = "numbers_inventory.html")]
struct InventoryPage {
    chrome: Chrome,
    counts: Vec<(String, i64)>,
    total: i64,
    states: Vec<(&'static str, String)>,
    search: Form,
    results: Vec<InventoryLine>,
    first_page: bool,
    next_href: Option<String>,
    white_labels: Vec<(String, String)>,
    load_form: Form,
    allocate_form: Form,
    /// The largest request body the server accepts, which bounds the load form's upload.
    max_upload_kib: usize,
}

/// The parts of the inventory page besides the search: a failed form or a notice.
#[derive(Default)]
struct InventoryExtras {
    load_form: Option<Form>,
    allocate_form: Option<Form>,
    flash: Option<String>,
    status: Option<StatusCode>,
}

pub(super) async fn inventory(
    State(state): State<AppState>,
    portal: PlatformPortal,
    Query(query): Query<InventoryQuery>,
) -> Response {
    inventory_page(&state, &portal, &query, InventoryExtras::default()).await
}

/// Builds a row of the inventory; `names` maps white label ids to names.
fn inventory_line(number: &NumberView, names: &HashMap<&str, &str>) -> InventoryLine {
    let pool = match &number.pool {
        Some(id) => names
            .get(id.as_str())
            .map(|name| name.to_string())
            .unwrap_or_else(|| id.to_string()),
        None => "Platform".to_string(),
    };
    InventoryLine {
        international: number.international.clone(),
        country: number.country.clone(),
        area_code: number.area_code.clone(),
        number_type: number.number_type.replace('_', " "),
        state: number_state_label(&number.state),
        pool,
        account: number
            .customer_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
    }
}

async fn inventory_page(
    state: &AppState,
    portal: &PlatformPortal,
    query: &InventoryQuery,
    extras: InventoryExtras,
) -> Response {
    let counts = match state.app.number_counts(&portal.admin).await {
        Ok(counts) => counts,
        Err(error) => return error_page(state, &portal.session.brand, error),
    };
    let white_labels = match white_label_options(state, portal).await {
        Ok(options) => options,
        Err(error) => return error_page(state, &portal.session.brand, error),
    };
    let names: HashMap<&str, &str> = white_labels
        .iter()
        .map(|(id, name)| (id.as_str(), name.as_str()))
        .collect();

    let mut search = query.form();
    let mut status = extras.status.unwrap_or(StatusCode::OK);
    let results = match state
        .app
        .search_numbers(&portal.session.principal, None, &query.search())
        .await
    {
        Ok(results) => results,
        Err(error) => {
            status = form_status(&error);
            if let Err(error) = search.absorb(error, &|f| f.to_string()) {
                return error_page(state, &portal.session.brand, error);
            }
            Vec::new()
        }
    };
    let next_href = (results.len() == PAGE_SIZE as usize)
        .then(|| results.last().map(|n| query.next_href(&n.number)))
        .flatten();
    let lines = results.iter().map(|n| inventory_line(n, &names)).collect();

    let count_of = |name: &str| {
        counts
            .iter()
            .find(|(state, _)| state == name)
            .map(|(_, count)| *count)
            .unwrap_or(0)
    };

    let mut load_form = extras.load_form.unwrap_or_default();
    load_form
        .values
        .entry("load_country".into())
        .or_insert_with(|| "NZ".into());
    let mut chrome = portal.chrome(state, "Numbers", "/platform/numbers");
    chrome.flash = extras.flash;
    let page = InventoryPage {
        chrome,
        counts: NUMBER_STATES
            .iter()
            .map(|s| (number_state_label(s), count_of(s)))
            .collect(),
        total: counts.iter().map(|(_, count)| count).sum(),
        states: NUMBER_STATES
            .iter()
            .map(|s| (*s, number_state_label(s)))
            .collect(),
        search,
        results: lines,
        first_page: query.after.is_empty(),
        next_href,
        white_labels,
        load_form,
        allocate_form: extras.allocate_form.unwrap_or_default(),
        max_upload_kib: state.settings.max_body_bytes / 1024,
    };
    (status, render(&page)).into_response()
}

/// The source of a line of a load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoadSource {
    List,
    Range,
    File,
}

impl LoadSource {
    fn label(self) -> &'static str {
        match self {
            LoadSource::List => "Typed list",
            LoadSource::Range => "Range",
            LoadSource::File => "CSV file",
        }
    }
}

/// The lines of one load from its three sources. Each line's `line` is its position in the
/// whole load, counted from 1, and `origins` maps that position back to the source and the
/// line (or position in the range) there.
#[derive(Debug, Default)]
struct LoadLines {
    lines: Vec<NumberLine>,
    origins: Vec<(LoadSource, usize)>,
}

impl LoadLines {
    fn push(&mut self, source: LoadSource, source_line: usize, number: String, country: &str) {
        self.lines.push(NumberLine {
            line: self.lines.len() + 1,
            number,
            country: country.to_string(),
        });
        self.origins.push((source, source_line));
    }

    /// Returns the source and source line of a position in the load.
    fn origin(&self, line: usize) -> (LoadSource, usize) {
        line.checked_sub(1)
            .and_then(|index| self.origins.get(index).copied())
            .unwrap_or((LoadSource::List, line))
    }
}

/// The fields of the load form, as read from its multipart body.
#[derive(Debug, Default)]
struct LoadInput {
    csrf: String,
    numbers: String,
    range_from: String,
    range_to: String,
    country: String,
    white_label_id: String,
    csv: Vec<u8>,
}

impl LoadInput {
    fn form(&self) -> Form {
        let mut form = Form::default();
        for (key, value) in [
            ("numbers", &self.numbers),
            ("range_from", &self.range_from),
            ("range_to", &self.range_to),
            ("load_country", &self.country),
            ("load_white_label", &self.white_label_id),
        ] {
            form.values.insert(key.to_string(), value.clone());
        }
        form
    }

    /// Builds the lines to load, or the form's errors.
    fn lines(&self) -> Result<LoadLines, AppError> {
        let mut errors = Vec::new();
        let country = match Country::parse(&self.country) {
            Ok(country) => country,
            Err(error) => {
                return Err(AppError::Invalid(vec![FieldError::new(
                    "load_country",
                    error,
                )]))
            }
        };
        let mut load = LoadLines::default();
        for (line, number) in text_lines(&self.numbers) {
            load.push(LoadSource::List, line, number, country.as_str());
        }
        let (from, to) = (self.range_from.trim(), self.range_to.trim());
        if !from.is_empty() || !to.is_empty() {
            match expand_range(from, to, country) {
                Ok(numbers) => {
                    for (index, number) in numbers.into_iter().enumerate() {
                        load.push(LoadSource::Range, index + 1, number, country.as_str());
                    }
                }
                Err(AppError::Invalid(fields)) => {
                    errors.extend(fields.into_iter().map(|mut e| {
                        e.field = format!("range_{}", e.field);
                        e
                    }));
                }
                Err(other) => return Err(other),
            }
        }
        if !self.csv.is_empty() {
            let bytes = self.csv.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&self.csv);
            match std::str::from_utf8(bytes) {
                Ok(text) => {
                    for line in parse_numbers_csv(text, country.as_str()) {
                        load.push(LoadSource::File, line.line, line.number, &line.country);
                    }
                }
                Err(_) => errors.push(FieldError::custom(
                    "csv",
                    "invalid_encoding",
                    "the file is not UTF-8 text: save it as CSV UTF-8 and upload it again",
                )),
            }
        }
        if errors.is_empty() && load.lines.is_empty() {
            errors.push(FieldError::custom(
                "numbers",
                "required",
                "give numbers, a range or a CSV file to load",
            ));
        }
        if errors.is_empty() {
            Ok(load)
        } else {
            Err(AppError::Invalid(errors))
        }
    }
}

/// Reads the load form's multipart body, or returns why it could not be read.
async fn read_load_form(
    mut multipart: Multipart,
    max_body_bytes: usize,
) -> Result<LoadInput, String> {
    let unreadable = |error: axum::extract::multipart::MultipartError| {
        tracing::info!(%error, "number load form not read");
        format!(
            "the upload could not be read ({error}). The form may hold at most {} KiB: split \
             the file and load the parts one after another",
            max_body_bytes / 1024
        )
    };
    let mut input = LoadInput::default();
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or("").to_string();
        let target = match name.as_str() {
            "csv" => {
                input.csv = field.bytes().await.map_err(unreadable)?.to_vec();
                continue;
            }
            CSRF_FIELD => &mut input.csrf,
            "numbers" => &mut input.numbers,
            "range_from" => &mut input.range_from,
            "range_to" => &mut input.range_to,
            "load_country" => &mut input.country,
            "load_white_label" => &mut input.white_label_id,
            // Parts the form does not have are skipped unread.
            _ => continue,
        };
        *target = field.text().await.map_err(unreadable)?;
    }
    Ok(input)
}

/// A line that was not loaded, as a row of the report.
struct RejectedRow {
    source: &'static str,
    line: usize,
    input: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "numbers_load_report.html")]
struct LoadReportPage {
    chrome: Chrome,
    loaded: usize,
    pool: String,
    duplicates: Vec<RejectedRow>,
    invalid: Vec<RejectedRow>,
}

pub(super) async fn load(
    State(state): State<AppState>,
    portal: PlatformPortal,
    multipart: Multipart,
) -> Response {
    let query = InventoryQuery::default();
    let input = match read_load_form(multipart, state.settings.max_body_bytes).await {
        Ok(input) => input,
        Err(message) => {
            let mut form = Form::default();
            form.errors.insert("csv".into(), message);
            let extras = InventoryExtras {
                load_form: Some(form),
                status: Some(StatusCode::UNPROCESSABLE_ENTITY),
                ..InventoryExtras::default()
            };
            return inventory_page(&state, &portal, &query, extras).await;
        }
    };
    if !tokens_match(&input.csrf, &portal.session.csrf_token) {
        return super::super::forms::csrf_failure();
    }
    let failed = |error: AppError| {
        let status = form_status(&error);
        let mut form = input.form();
        form.absorb(error, &|f| f.to_string())
            .map(|()| InventoryExtras {
                load_form: Some(form),
                status: Some(status),
                ..InventoryExtras::default()
            })
    };
    let pool = match input.white_label_id.trim() {
        "" => None,
        raw => match WhiteLabelId::parse(raw) {
            Ok(id) => Some(id),
            Err(_) => {
                let error = AppError::Invalid(vec![FieldError::custom(
                    "load_white_label",
                    "unknown_white_label",
                    "choose a white label from the list",
                )]);
                return match failed(error) {
                    Ok(extras) => inventory_page(&state, &portal, &query, extras).await,
                    Err(error) => error_page(&state, &portal.session.brand, error),
                };
            }
        },
    };
    let lines = match input.lines() {
        Ok(lines) => lines,
        Err(error) => {
            return match failed(error) {
                Ok(extras) => inventory_page(&state, &portal, &query, extras).await,
                Err(error) => error_page(&state, &portal.session.brand, error),
            }
        }
    };
    let report = match state
        .app
        .load_numbers(&portal.admin, &lines.lines, pool.as_ref(), &|_| {})
        .await
    {
        Ok(report) => report,
        Err(AppError::NotFound("white label")) => {
            let error = AppError::Invalid(vec![FieldError::custom(
                "load_white_label",
                "unknown_white_label",
                "that white label no longer exists: choose another",
            )]);
            return match failed(error) {
                Ok(extras) => inventory_page(&state, &portal, &query, extras).await,
                Err(error) => error_page(&state, &portal.session.brand, error),
            };
        }
        Err(error) => return error_page(&state, &portal.session.brand, error),
    };
    let pool_name = pool_name(&state, &portal, pool.as_ref()).await;
    render_report(&state, &portal, &lines, report, pool_name)
}

fn render_report(
    state: &AppState,
    portal: &PlatformPortal,
    lines: &LoadLines,
    report: LoadReport,
    pool: String,
) -> Response {
    let rows = |rejected: Vec<tandem_app::numbers::RejectedLine>| -> Vec<RejectedRow> {
        rejected
            .into_iter()
            .map(|r| {
                let (source, line) = lines.origin(r.line);
                RejectedRow {
                    source: source.label(),
                    line,
                    input: r.input,
                    reason: r.reason,
                }
            })
            .collect()
    };
    render(&LoadReportPage {
        chrome: portal.chrome(state, "Numbers loaded", "/platform/numbers"),
        loaded: report.loaded,
        pool,
        duplicates: rows(report.duplicates),
        invalid: rows(report.invalid),
    })
}

pub(super) async fn allocate(
    State(state): State<AppState>,
    posted: Posted<PlatformPortal>,
) -> Response {
    let Posted {
        ctx: portal,
        form: fields,
    } = posted;
    let query = InventoryQuery::default();
    let lines = text_lines(fields.get("allocate_numbers"));
    let mut number_errors = Vec::new();
    let mut numbers = Vec::new();
    for (line, text) in &lines {
        match PhoneNumber::parse_e164(text) {
            Ok(number) => numbers.push(number.as_str().to_string()),
            Err(error) => number_errors.push(format!("line {line}: {}", error.message)),
        }
    }
    if lines.is_empty() {
        number_errors.push("list at least one number, one per line".to_string());
    }
    let mut form = Form::with_values(fields.into_values());
    if !number_errors.is_empty() {
        form.errors
            .insert("allocate_numbers".into(), join_sentences(&number_errors));
        form.order.push("allocate_numbers".into());
    }
    let pool = match form.v("allocate_white_label").trim() {
        "platform" => None,
        raw => match WhiteLabelId::parse(raw) {
            Ok(id) => Some(id),
            Err(_) => {
                form.errors.insert(
                    "allocate_white_label".into(),
                    "choose a white label, or the platform's pool".into(),
                );
                form.order.push("allocate_white_label".into());
                None
            }
        },
    };
    if form.has_errors() {
        let extras = InventoryExtras {
            allocate_form: Some(form),
            status: Some(StatusCode::UNPROCESSABLE_ENTITY),
            ..InventoryExtras::default()
        };
        return inventory_page(&state, &portal, &query, extras).await;
    }
    let moved = match state
        .app
        .allocate_numbers(&portal.admin, &numbers, pool.as_ref())
        .await
    {
        Ok(moved) => moved,
        Err(error) => {
            let status = form_status(&error);
            let error = merge_list_errors(error, "allocate_numbers", &numbers);
            return match form.absorb(error, &|f| f.to_string()) {
                Ok(()) => {
                    let extras = InventoryExtras {
                        allocate_form: Some(form),
                        status: Some(status),
                        ..InventoryExtras::default()
                    };
                    inventory_page(&state, &portal, &query, extras).await
                }
                Err(error) => error_page(&state, &portal.session.brand, error),
            };
        }
    };
    let pool_name = pool_name(&state, &portal, pool.as_ref()).await;
    let extras = InventoryExtras {
        flash: Some(allocation_notice(&numbers, &moved, &pool_name)),
        ..InventoryExtras::default()
    };
    inventory_page(&state, &portal, &query, extras).await
}

/// Describes what an allocation moved, and which numbers it left because they were not
/// available.
fn allocation_notice(requested: &[String], moved: &[String], pool: &str) -> String {
    let mut notice = match moved.len() {
        1 => format!("1 number moved to {pool}."),
        n => format!("{n} numbers moved to {pool}."),
    };
    let left: Vec<String> = requested
        .iter()
        .filter(|n| !moved.contains(n))
        .map(|n| international(n))
        .collect();
    if !left.is_empty() {
        const SHOWN: usize = 20;
        let mut list = left
            .iter()
            .take(SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if left.len() > SHOWN {
            list.push_str(&format!(" and {} more", left.len() - SHOWN));
        }
        notice.push_str(&format!(
            " Not moved, because they are not available numbers in the inventory: {list}."
        ));
    }
    notice
}

#[cfg(test)]
mod tests {
    use super::super::tests::field_names;
    use super::*;

    fn load_input(numbers: &str, from: &str, to: &str, csv: &str) -> LoadInput {
        LoadInput {
            numbers: numbers.into(),
            range_from: from.into(),
            range_to: to.into(),
            country: "NZ".into(),
            csv: csv.as_bytes().to_vec(),
            ..LoadInput::default()
        }
    }

    #[test]
    fn load_lines_keep_their_origin() {
        let input = load_input(
            "09 400 1000\n\n09 400 1001",
            "09 400 2000",
            "09 400 2001",
            "number,country\n61 2 9876 5432,AU\n",
        );
        let load = input.lines().unwrap();
        let numbers: Vec<&str> = load.lines.iter().map(|l| l.number.as_str()).collect();
        assert_eq!(
            numbers,
            vec![
                "09 400 1000",
                "09 400 1001",
                "+6494002000",
                "+6494002001",
                "61 2 9876 5432"
            ]
        );
        let positions: Vec<usize> = load.lines.iter().map(|l| l.line).collect();
        assert_eq!(positions, vec![1, 2, 3, 4, 5]);
        assert_eq!(load.origin(2), (LoadSource::List, 3));
        assert_eq!(load.origin(4), (LoadSource::Range, 2));
        assert_eq!(load.origin(5), (LoadSource::File, 2));
        assert_eq!(load.lines[4].country, "AU");
    }

    #[test]
    fn load_lines_strip_byte_order_mark() {
        let mut input = load_input("", "", "", "");
        input.csv = b"\xEF\xBB\xBFnumber\n094001234\n".to_vec();
        let load = input.lines().unwrap();
        assert_eq!(load.lines.len(), 1);
        assert_eq!(load.lines[0].number, "094001234");
    }

    #[test]
    fn load_lines_need_some_numbers() {
        let error = load_input("", "", "", "").lines().unwrap_err();
        assert_eq!(field_names(error), vec!["numbers"]);
    }

    #[test]
    fn load_lines_report_range_fields() {
        let error = load_input("", "09 400 2001", "09 400 2000", "")
            .lines()
            .unwrap_err();
        assert_eq!(field_names(error), vec!["range_to"]);
        let error = load_input("", "not a number", "", "").lines().unwrap_err();
        assert_eq!(field_names(error), vec!["range_from", "range_to"]);
    }

    #[test]
    fn load_lines_reject_bad_country_and_encoding() {
        let mut input = load_input("09 400 1000", "", "", "");
        input.country = "ZZ".into();
        assert_eq!(
            field_names(input.lines().unwrap_err()),
            vec!["load_country"]
        );
        let mut input = load_input("", "", "", "");
        input.csv = vec![0xff, 0xfe, 0x00];
        assert_eq!(field_names(input.lines().unwrap_err()), vec!["csv"]);
    }

    #[test]
    fn allocation_notice_lists_numbers_left() {
        let requested = vec!["+6494001000".to_string(), "+6494001001".to_string()];
        let moved = vec!["+6494001000".to_string()];
        let notice = allocation_notice(&requested, &moved, "Harbour's pool");
        assert!(notice.starts_with("1 number moved to Harbour's pool."));
        assert!(notice.contains("+64 9 400 1001"), "{notice}");
        assert!(!notice.contains("+64 9 400 1000"), "{notice}");
    }
}
