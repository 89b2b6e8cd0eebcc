//! Reply bodies of the simulator, built from the same wire types the client parses, with the
//! HTTP statuses and messages of the documented fixtures.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::SimTask;
use crate::comet::wire::{
    GatewayError, GatewayErrorBody, KlingEnvelope, KlingTask, KlingVideo, TaskInfo, TaskResult,
    WrapperEnvelope, WrapperTask,
};

/// Why a simulated task failed (the text of the `query_failed` fixture).
const FAILURE_REASON: &str = "Generation blocked by content-safety review: the output was flagged as possibly sensitive. Revise the prompt or the reference media and submit a new task.";

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TaskPhase {
    Submitted,
    Processing,
    Succeeded,
    Failed,
}

/// The create reply (`create_ok`).
pub(super) fn created(task: &SimTask) -> Response {
    let data = KlingTask {
        task_id: Some(task.id.clone()),
        task_status: Some("submitted".into()),
        task_info: Some(TaskInfo {
            external_task_id: task.external_task_id.clone(),
        }),
        created_at: Some(task.created_at_ms),
        updated_at: Some(task.created_at_ms),
        ..KlingTask::default()
    };
    ok(KlingEnvelope {
        code: Some(0),
        message: Some("SUCCEED".into()),
        request_id: Some(request_id()),
        data: Some(data),
    })
}

/// The query reply, native or wrapper shape.
pub(super) fn task(
    task: &SimTask,
    phase: TaskPhase,
    origin: &str,
    now_ms: i64,
    echo: &str,
    units: Option<&str>,
) -> Response {
    let (status, message) = match phase {
        TaskPhase::Submitted => ("submitted", None),
        TaskPhase::Processing => ("processing", None),
        TaskPhase::Succeeded => ("succeed", None),
        TaskPhase::Failed => ("failed", Some(format!("{FAILURE_REASON}{echo}"))),
    };
    let urls = video_urls(task, origin);
    let video_url = urls.first().cloned().unwrap_or_default();
    let videos = (phase == TaskPhase::Succeeded).then(|| {
        urls.iter()
            .enumerate()
            .map(|(index, url)| KlingVideo {
                id: Some(format!("sim-video-{}-{}", task.id, index + 1)),
                url: Some(url.clone()),
                duration: Some(super::SAMPLE_MP4_SECONDS.into()),
            })
            .collect()
    });
    let native = KlingEnvelope {
        code: Some(0),
        message: Some("SUCCEED".into()),
        request_id: Some(request_id()),
        data: Some(KlingTask {
            task_id: Some(task.id.clone()),
            task_status: Some(status.into()),
            task_status_msg: message.clone().or(Some(String::new())),
            task_info: Some(TaskInfo {
                external_task_id: task.external_task_id.clone(),
            }),
            task_result: Some(TaskResult {
                videos: videos.clone(),
            }),
            created_at: Some(task.created_at_ms),
            updated_at: Some(now_ms),
            final_unit_deduction: units
                .filter(|_| phase == TaskPhase::Succeeded)
                .map(str::to_owned),
        }),
    };
    if !task.wrapper {
        return ok(native);
    }
    let (outer_status, progress) = match phase {
        TaskPhase::Submitted => ("SUBMITTED", "0%"),
        TaskPhase::Processing => ("IN_PROGRESS", "30%"),
        TaskPhase::Succeeded => ("SUCCESS", "100%"),
        TaskPhase::Failed => ("FAILURE", "100%"),
    };
    let mut nested = native;
    let fail_reason = match phase {
        TaskPhase::Succeeded if task.url_in_fail_reason => {
            // Some new-api builds drop the nested result and put the URL here.
            if let Some(data) = nested.data.as_mut() {
                data.task_result = Some(TaskResult::default());
            }
            video_url
        }
        _ => message.unwrap_or_default(),
    };
    let secs = |ms: i64| ms / 1000;
    ok(WrapperEnvelope {
        code: Some("success".into()),
        message: Some(String::new()),
        data: Some(WrapperTask {
            task_id: Some(task.id.clone()),
            action: Some("OMNI_VIDEO".into()),
            status: Some(outer_status.into()),
            fail_reason: Some(fail_reason),
            progress: Some(progress.into()),
            result_url: None,
            submit_time: Some(secs(task.created_at_ms)),
            start_time: Some(secs(task.created_at_ms) + 1),
            finish_time: Some(
                if matches!(phase, TaskPhase::Succeeded | TaskPhase::Failed) {
                    secs(now_ms)
                } else {
                    0
                },
            ),
            data: Some(nested),
        }),
    })
}

/// The URLs a finished task lists, following its [`super::VideoPlan`].
fn video_urls(task: &SimTask, origin: &str) -> Vec<String> {
    let plan = &task.videos;
    if let Some(url) = &plan.url {
        return vec![url.clone()];
    }
    let route = if plan.redirect { "redirect" } else { "videos" };
    (1..=plan.count.max(1))
        .map(|n| {
            let suffix = match n {
                1 => String::new(),
                n => format!("-{n}"),
            };
            let expired = if plan.expired == Some(n) {
                "-expired"
            } else {
                ""
            };
            format!("{origin}/_sim/{route}/{}{suffix}{expired}.mp4", task.id)
        })
        .collect()
}

/// A Kling business error with the HTTP status of spec §6.2.
pub(super) fn kling_error(code: i64, message: &str) -> Response {
    let status = match code {
        1000..=1004 => StatusCode::UNAUTHORIZED,
        1103 => StatusCode::FORBIDDEN,
        1100..=1102 | 1302..=1304 => StatusCode::TOO_MANY_REQUESTS,
        1202 | 1203 => StatusCode::NOT_FOUND,
        5001 => StatusCode::SERVICE_UNAVAILABLE,
        5002 => StatusCode::GATEWAY_TIMEOUT,
        5000..=5999 => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let body = KlingEnvelope {
        code: Some(code),
        message: Some(message.to_owned()),
        request_id: Some(request_id()),
        data: None,
    };
    (status, Json(body)).into_response()
}

/// The gateway's 401 (`error_gateway_invalid_token`).
pub(super) fn invalid_token(echo: &str) -> Response {
    let body = GatewayErrorBody {
        error: GatewayError {
            message: Some(format!(
                "invalid token{echo} (request id: {})",
                request_id()
            )),
            kind: Some("comet_api_error".into()),
            code: Some(String::new()),
            param: None,
        },
    };
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

/// The reply for a `[sim:error=…]` directive: a Kling code, `quota`, `token` or `html`.
/// `echo` is appended to the message (see `SimConfig::echo_key`).
pub(super) fn scripted_error(which: &str, echo: &str) -> Response {
    match which {
        "quota" => (
            StatusCode::FORBIDDEN,
            Json(
                json!({"code": "quota_not_enough", "message": format!("user quota is not enough{echo}"), "data": null}),
            ),
        )
            .into_response(),
        "token" => invalid_token(echo),
        "html" => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            format!("<html><body><h1>502 Bad Gateway</h1>{echo}</body></html>"),
        )
            .into_response(),
        code => {
            let code = code.parse().unwrap_or(5000);
            kling_error(code, &format!("{}{echo}", fixture_message(code)))
        }
    }
}

/// The messages of the error fixtures, so simulated errors read like real ones.
fn fixture_message(code: i64) -> &'static str {
    match code {
        1102 => "Account balance not enough: the resource pack is used up or has expired",
        1103 => "No permission to access this model: kling-v3-omni is not enabled for this account",
        1200 => {
            "Invalid request parameters: duration must be 5 or 10 for text-to-video and first-frame generation"
        }
        1301 => {
            "Content security policy triggered: the prompt or reference media failed content review"
        }
        1303 => {
            "Parallel task limit of the resource pack exceeded; wait for running tasks to finish and try again"
        }
        5000 => "Internal server error, please try again later",
        _ => "Simulated error",
    }
}

fn ok(body: impl serde::Serialize) -> Response {
    (StatusCode::OK, Json(body)).into_response()
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
