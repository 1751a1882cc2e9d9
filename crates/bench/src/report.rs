//! The printed report: the run's settings, the machine, the date and the table of figures.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::creation::CreationRun;
use crate::insert_limit::InsertRate;

/// The run's settings and database, printed above the figures.
pub struct RunInfo {
    /// The engine and version, such as "SQLite 3.46.0".
    pub database: String,
    pub pool_size: u32,
    pub seconds: u64,
    pub insert_tasks: usize,
    pub clients: usize,
}

/// Prints the report to standard output.
pub fn print(info: &RunInfo, inserts: &InsertRate, creations: &CreationRun) {
    let mut latencies = creations.latencies.clone();
    latencies.sort_unstable();
    let insert_rate = inserts.per_second();
    let creation_rate = creations.per_second();

    println!("Tandem benchmark: mode 2 customer creation through POST /api/v1/customers");
    println!("date:      {}", utc_now());
    println!("machine:   {} CPUs (nproc), {}", cpu_count(), cpu_model());
    println!(
        "database:  {}, pool of {} connections",
        info.database, info.pool_size
    );
    println!(
        "load:      {} s per phase; {} insert tasks; {} HTTP clients",
        info.seconds, info.insert_tasks, info.clients
    );
    println!(
        "counts:    {} inserts committed in {:.2} s; {} requests ({} created) in {:.2} s",
        inserts.committed,
        inserts.elapsed.as_secs_f64(),
        creations.latencies.len(),
        creations.created,
        creations.elapsed.as_secs_f64()
    );
    println!();
    println!("| measure                               | value      |");
    println!("|---------------------------------------|-----------:|");
    row("plain insert transactions/s", format!("{insert_rate:.1}"));
    row("customer creations/s", format!("{creation_rate:.1}"));
    row(
        "creation latency p50 (ms)",
        millis(percentile(&latencies, 50.0)),
    );
    row(
        "creation latency p99 (ms)",
        millis(percentile(&latencies, 99.0)),
    );
    row("errors (non-201 responses)", creations.errors().to_string());
    row(
        "creations/s ÷ insert transactions/s",
        format!("{:.1} %", 100.0 * creation_rate / insert_rate),
    );

    if inserts.failed > 0 {
        println!();
        println!("insert phase: {} transactions failed", inserts.failed);
        if let Some(error) = &inserts.first_error {
            println!("  first error: {error}");
        }
    }
    if !creations.failures.is_empty() {
        println!();
        println!("creation phase: failed requests by status");
        for (status, count) in &creations.failures {
            println!("  {status}: {count}");
        }
        if let Some(failure) = &creations.first_failure {
            println!("  first failure: {failure}");
        }
    }
}

fn row(measure: &str, value: String) {
    println!("| {measure:<37} | {value:>10} |");
}

fn millis(duration: Option<Duration>) -> String {
    match duration {
        Some(duration) => format!("{:.1}", duration.as_secs_f64() * 1e3),
        None => "none".to_string(),
    }
}

/// Returns the nearest-rank percentile of sorted values, or `None` when there are none.
fn percentile(sorted: &[Duration], percent: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percent / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Returns the number of CPUs this process may run on, as `nproc` counts them.
pub fn cpu_count() -> String {
    std::thread::available_parallelism()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "unknown".to_string())
}

/// Returns the first "model name" in /proc/cpuinfo.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .filter_map(|line| line.split_once(':'))
                .find(|(key, _)| key.trim() == "model name")
                .map(|(_, value)| value.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU model".to_string())
}

/// Formats the current time as "YYYY-MM-DD HH:MM UTC".
pub fn utc_now() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let second_of_day = seconds.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        second_of_day / 3600,
        second_of_day % 3600 / 60
    )
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day), with Howard
/// Hinnant's `civil_from_days` algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_from_days_known_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn percentile_nearest_rank() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 50.0), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&values, 99.0), Some(Duration::from_millis(99)));
        assert_eq!(
            percentile(&values[..1], 99.0),
            Some(Duration::from_millis(1))
        );
        assert_eq!(percentile(&[], 50.0), None);
    }
}
