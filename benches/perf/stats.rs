//! Percentiles, units and memory readings (Linux `/proc`).

use std::time::Duration;

/// The `percentile` of `values`, in milliseconds.
pub(crate) fn pct_ms(values: &mut [Duration], percentile: f64) -> f64 {
    values.sort();
    let index = ((values.len() as f64 - 1.0) * percentile / 100.0).round() as usize;
    values.get(index).copied().unwrap_or_default().as_secs_f64() * 1000.0
}

fn status_kb(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0.0)
}

/// Resident memory now, in MB.
pub(crate) fn rss_mb(pid: u32) -> f64 {
    status_kb(pid, "VmRSS:") / 1024.0
}

/// Resident anonymous memory (heap, stacks) now, in MB: what the process itself allocated.
pub(crate) fn rss_anon_mb(pid: u32) -> f64 {
    status_kb(pid, "RssAnon:") / 1024.0
}

/// Resident file-backed memory now, in MB: mostly the executable's own code and data,
/// shared with every other process running it.
pub(crate) fn rss_file_mb(pid: u32) -> f64 {
    status_kb(pid, "RssFile:") / 1024.0
}

/// Peak resident memory so far, in MB.
pub(crate) fn peak_rss_mb(pid: u32) -> f64 {
    status_kb(pid, "VmHWM:") / 1024.0
}
