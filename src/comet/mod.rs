//! The CometAPI client for Kling Omni Video: the create request (its types, every documented
//! rule checked in `validate`, the streamed body), the task and both reply shapes it arrives in,
//! errors with a stable kind, the HTTP client, and the result-video downloader with its
//! public-address check; plus ids, the API key and redaction of untrusted upstream text. Knows
//! nothing about MCP, the CLI, the job layer or the task store.

mod body;
mod client;
mod download;
mod enums;
mod error;
mod exchange;
mod ids;
mod inputs;
mod lazy_http;
mod mode;
mod public_addr;
mod quota;
mod redact;
mod reply_shapes;
mod request;
mod response;
mod secret;
mod status;
mod task;
mod validate;
mod violation;
pub mod wire;

pub use client::{Client, ClientOptions, DEFAULT_BASE_URL};
pub use download::{DownloadError, DownloadOptions, Downloader};
pub use error::{ApiError, Error, ErrorKind};
pub use ids::{
    ExternalTaskId, ID_CHARS, MAX_EXTERNAL_ID_LEN, SIMULATED_ID_PREFIX, TaskId, id_problem,
    is_id_char, is_simulated_id,
};
pub use inputs::looks_like_local_path;
pub use mode::{GenerationMode, infer_mode};
pub use public_addr::{Refusal, is_public};
pub use quota::{Balance, DEFAULT_QUOTA_URL, KeyBalance};
pub use redact::{REDACTED, Redactor, display_url};
pub use request::{
    AspectRatio, CreateTaskRequest, ElementRef, ImageInput, ImageType, KeepOriginalSound,
    ModelName, QualityMode, ReferType, Shot, ShotDuration, ShotType, Sound, VideoDuration,
    VideoInput, new_external_task_id,
};
pub use response::{parse_create, parse_query};
pub use secret::ApiKey;
pub use status::TaskStatus;
pub use task::{CreatedTask, ReplyShape, Task, Video, parse_units};
pub use validate::{MAX_PROMPT_CHARS, ValidRequest};
pub use violation::Violation;
