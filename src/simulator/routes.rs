//! HTTP handlers of the simulator: create, query, the fake video file, and an HTML 404 for
//! any other path (what a wrong base URL gets from a real web server).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State as Extract};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;

use super::bodies::{self, TaskPhase};
use super::faults::apply_fault;
use super::request_log::elide_huge_strings;
use super::world::{self, Scenario};
use super::{Endpoint, Fault, RecordedRequest, SAMPLE_MP4, SimTask, State, lock, rules};

/// Task ids look like Kling's: 18 digits.
const FIRST_TASK_ID: u64 = 880_000_000_000_000_000;

pub(super) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/kling/v1/videos/omni-video", post(create))
        .route("/kling/v1/videos/omni-video/{task_id}", get(query))
        .route("/_sim/videos/{file}", get(video))
        .route("/_sim/redirect/{file}", get(redirect))
        .route("/user/quota", get(super::quota::balance))
        .fallback(not_found)
        // Seven 10 MB images are about 94 MB of base64: take that, as the API does.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Largest create body taken: more than seven 10 MB images in base64.
const MAX_BODY_BYTES: usize = 128 * 1024 * 1024;

async fn create(Extract(state): Extract<Arc<State>>, headers: HeaderMap, body: Bytes) -> Response {
    let json = serde_json::from_slice::<Value>(&body).ok();
    record(
        &state,
        Method::POST,
        "/kling/v1/videos/omni-video",
        &headers,
        json.as_ref().map(elide_huge_strings),
    );
    if let Some(refused) = check_auth(&state, &headers) {
        return refused;
    }
    let echo = echo(&state, &headers);
    let fault = state.take_fault(Endpoint::Create);
    if let Some(reply) = apply_fault(fault, &echo).await {
        return reply;
    }
    let Some(json) = json else {
        return bodies::kling_error(1200, "Invalid request parameters: body is not valid JSON");
    };
    // Directives may sit in shot prompts too: a customized storyboard has no top-level prompt.
    let shots = json.get("multi_prompt").and_then(Value::as_array);
    let prompt = std::iter::once(json.get("prompt"))
        .chain(shots.into_iter().flatten().map(|shot| shot.get("prompt")))
        .filter_map(|text| text.and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(code) = directive(&prompt, "error") {
        return bodies::scripted_error(&code, &echo);
    }
    if let Err(message) = rules::check_create(&json) {
        return bodies::kling_error(1201, &format!("Invalid parameter: {message}"));
    }
    let created_at_ms = now_ms();
    let scenario = Scenario {
        polls: directive(&prompt, "polls")
            .and_then(|n| n.parse().ok())
            .unwrap_or(state.config.finish_after_polls)
            .max(1),
        fails: directive(&prompt, "fail").is_some(),
        wrapper: state.config.wrapper_shape || directive(&prompt, "wrapper").is_some(),
        url_in_fail_reason: directive(&prompt, "url_in_fail_reason").is_some(),
        videos: directive(&prompt, "videos")
            .and_then(|n| n.parse().ok())
            .unwrap_or(1)
            .clamp(1, 100_000),
        redirect: directive(&prompt, "redirect").is_some(),
        expired: directive(&prompt, "expired").and_then(|n| n.parse().ok()),
    };
    let id = if state.config.simulated_ids {
        world::new_id(created_at_ms, &scenario)
    } else {
        (FIRST_TASK_ID + state.next_id.fetch_add(1, Ordering::Relaxed) + 1).to_string()
    };
    let external_task_id = json
        .get("external_task_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut task = SimTask::new(id.clone(), external_task_id, created_at_ms, &scenario);
    task.videos.url = directive(&prompt, "video_url");
    let reply = bodies::created(&task);
    lock(&state.tasks).insert(id, task);
    state.served.send_modify(|n| *n += 1);
    if directive(&prompt, "hang").is_some() {
        // Created (and billed), but the answer never comes: the caller may die waiting.
        std::future::pending::<()>().await;
    }
    if fault == Some(Fault::ServerErrorAfterCreate) {
        return bodies::kling_error(5000, "Internal server error, please try again later");
    }
    reply
}

async fn query(
    Extract(state): Extract<Arc<State>>,
    Path(task_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/kling/v1/videos/omni-video/{task_id}");
    record(&state, Method::GET, &path, &headers, None);
    if let Some(refused) = check_auth(&state, &headers) {
        return refused;
    }
    let echo = echo(&state, &headers);
    if let Some(reply) = apply_fault(state.take_fault(Endpoint::Query), &echo).await {
        return reply;
    }
    let Some(snapshot) = poll(&state, &task_id) else {
        return bodies::kling_error(1203, "Resource not found: no task with this task_id");
    };
    let now = now_ms();
    let age = Duration::from_millis(u64::try_from(now - snapshot.created_at_ms).unwrap_or(0));
    // A task is as far along as its polls here, or its age, say: a process that did not
    // create it sees it where its creator would.
    let aged_polls = state.config.age_per_poll.map_or(0, |per| {
        u32::try_from(age.as_millis() / per.as_millis().max(1)).unwrap_or(u32::MAX)
    });
    let polls = snapshot.polls.max(aged_polls);
    let finished = polls >= snapshot.finish_after_polls
        || state.config.finish_after.is_some_and(|after| age >= after);
    let phase = match (finished, snapshot.fails) {
        (true, true) => TaskPhase::Failed,
        (true, false) => TaskPhase::Succeeded,
        (false, _) if polls <= 1 => TaskPhase::Submitted,
        (false, _) => TaskPhase::Processing,
    };
    bodies::task(
        &snapshot,
        phase,
        &state.origin,
        now,
        &echo,
        state.config.units.as_deref(),
    )
}

/// Counts a query of `task_id` and returns the task as it stands. Kling accepts the external
/// id in the same path. In the `--simulate` world a task made by another simulator is taken
/// from its id (up to [`MAX_TASKS`] kept; beyond, its age alone moves it).
fn poll(state: &State, task_id: &str) -> Option<SimTask> {
    let mut tasks = lock(&state.tasks);
    let key = if tasks.contains_key(task_id) {
        Some(task_id.to_owned())
    } else {
        tasks
            .values()
            .find(|t| t.external_task_id.as_deref() == Some(task_id))
            .map(|t| t.id.clone())
    };
    if let Some(task) = key.and_then(|key| tasks.get_mut(&key)) {
        task.polls = task.polls.saturating_add(1);
        return Some(task.clone());
    }
    if !state.config.simulated_ids {
        return None;
    }
    let (created_at_ms, scenario) = world::parse_id(task_id)?;
    let mut task = SimTask::new(task_id.to_owned(), None, created_at_ms, &scenario);
    task.polls = 1;
    if tasks.len() < MAX_TASKS {
        tasks.insert(task_id.to_owned(), task.clone());
    }
    Some(task)
}

/// Most tasks a simulator keeps: ids anyone can type must not grow its memory without end.
const MAX_TASKS: usize = 100_000;

async fn video(
    Extract(state): Extract<Arc<State>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    record(
        &state,
        Method::GET,
        &format!("/_sim/videos/{file}"),
        &headers,
        None,
    );
    if !file.ends_with(".mp4") {
        return StatusCode::NOT_FOUND.into_response();
    }
    if file.ends_with("-expired.mp4") {
        // What a CDN answers for a signed link past its expiry.
        return (StatusCode::FORBIDDEN, "Request has expired").into_response();
    }
    if let Some(reply) = apply_fault(state.take_fault(Endpoint::Video), "").await {
        return reply;
    }
    ([(header::CONTENT_TYPE, "video/mp4")], SAMPLE_MP4).into_response()
}

/// A CDN-style redirect to the video file of the same name.
async fn redirect(
    Extract(state): Extract<Arc<State>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    record(
        &state,
        Method::GET,
        &format!("/_sim/redirect/{file}"),
        &headers,
        None,
    );
    let target = format!("{}/_sim/videos/{file}", state.origin);
    (StatusCode::FOUND, [(header::LOCATION, target)]).into_response()
}

async fn not_found(uri: Uri) -> Response {
    let page = format!(
        "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1><p>{}</p></body></html>",
        uri.path()
    );
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html")],
        page,
    )
        .into_response()
}

fn check_auth(state: &State, headers: &HeaderMap) -> Option<Response> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let accepted = match (&state.config.required_key, given) {
        (_, None) => false,
        (None, Some(value)) => value.starts_with("Bearer ") && value.len() > 7,
        (Some(key), Some(value)) => value.strip_prefix("Bearer ") == Some(key.as_str()),
    };
    (!accepted).then(|| bodies::invalid_token(&echo(state, headers)))
}

/// What `echo_key` adds to upstream text: a newline, then the caller's `Authorization`.
fn echo(state: &State, headers: &HeaderMap) -> String {
    if !state.config.echo_key {
        return String::new();
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    format!("\nreceived Authorization: {presented}")
}

pub(super) fn record(
    state: &State,
    method: Method,
    path: &str,
    headers: &HeaderMap,
    body: Option<Value>,
) {
    let _wake = Wake(state);
    lock(&state.log).push(RecordedRequest {
        method: method.to_string(),
        path: path.to_owned(),
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body,
    });
}

/// The value of `[sim:NAME]` or `[sim:NAME=VALUE]` in a prompt (`""` for the bare form).
fn directive(prompt: &str, name: &str) -> Option<String> {
    prompt.split("[sim:").skip(1).find_map(|rest| {
        let inner = rest.split(']').next()?;
        match inner.split_once('=') {
            Some((key, value)) if key == name => Some(value.trim().to_owned()),
            None if inner == name => Some(String::new()),
            _ => None,
        }
    })
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Wakes the simulator's waiters when dropped (after the log lock is released).
struct Wake<'a>(&'a State);

impl Drop for Wake<'_> {
    fn drop(&mut self) {
        self.0.served.send_modify(|n| *n += 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The top-level boxes of an MP4: (type, body).
    fn boxes(mut data: &[u8]) -> Vec<(String, &[u8])> {
        let mut out = Vec::new();
        while data.len() >= 8 {
            let size = u32::from_be_bytes(data[..4].try_into().unwrap()) as usize;
            assert!(size >= 8 && size <= data.len(), "box size {size}");
            out.push((
                String::from_utf8_lossy(&data[4..8]).into_owned(),
                &data[8..size],
            ));
            data = &data[size..];
        }
        assert!(data.is_empty(), "trailing bytes");
        out
    }

    #[test]
    fn the_served_video_is_a_real_h264_mp4() {
        let top = boxes(SAMPLE_MP4);
        let kinds: Vec<&str> = top.iter().map(|(kind, _)| kind.as_str()).collect();
        // `faststart`: the index (moov) before the media (mdat), so a player starts at once.
        assert_eq!(kinds, ["ftyp", "moov", "free", "mdat"]);
        let moov = top[1].1;
        let has = |needle: &[u8]| moov.windows(needle.len()).any(|w| w == needle);
        assert!(has(b"avc1") && has(b"avcC"), "an H.264 track");
        assert!(top[3].1.len() > 10_000, "real frames");
        assert!(SAMPLE_MP4.len() < 64 * 1024, "small enough to ship");
    }

    #[test]
    fn directives_are_read_from_the_prompt() {
        let prompt = "a cat [sim:error=1102] [sim:fail] [sim:polls=2]";
        assert_eq!(directive(prompt, "error").as_deref(), Some("1102"));
        assert_eq!(directive(prompt, "fail").as_deref(), Some(""));
        assert_eq!(directive(prompt, "polls").as_deref(), Some("2"));
        assert_eq!(directive(prompt, "wrapper"), None);
        assert_eq!(directive("no directives", "fail"), None);
    }
}
