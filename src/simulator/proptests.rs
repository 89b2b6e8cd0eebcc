//! Property tests: whatever `validate` accepts, the simulated API (which enforces the same
//! documented rules independently) accepts too; and no input makes validation panic.

use proptest::prelude::*;
use serde_json::Value;

use super::rules::check_create;
use crate::comet::{
    AspectRatio, CreateTaskRequest, ElementRef, ImageInput, ImageType, KeepOriginalSound,
    ModelName, QualityMode, ReferType, Shot, ShotDuration, ShotType, Sound, VideoDuration,
    VideoInput,
};

/// The Kling 3.0 Omni side of a request: model, sound, storyboard, and a duration that usually
/// matches the shots.
#[derive(Debug, Clone)]
struct V3 {
    model: ModelName,
    sound: Option<Sound>,
    multi_shot: Option<bool>,
    shot_type: Option<ShotType>,
    shots: Vec<Shot>,
    duration_is_the_total: bool,
    long: Option<u64>,
}

fn v3() -> impl Strategy<Value = V3> {
    let shot = (prompt(), 0u64..7).prop_map(|(prompt, seconds)| Shot {
        index: None,
        prompt,
        duration: ShotDuration::new(seconds.max(1)).unwrap_or(ShotDuration::new(1).unwrap()),
    });
    (
        prop_oneof![Just(ModelName::KlingVideoO1), Just(ModelName::KlingV3Omni)],
        prop_oneof![4 => Just(None), 2 => Just(Some(Sound::On)), 1 => Just(Some(Sound::Off))],
        prop_oneof![4 => Just(None), 3 => Just(Some(true)), 1 => Just(Some(false))],
        prop_oneof![2 => Just(None), 3 => Just(Some(ShotType::Customize)), 1 => Just(Some(ShotType::Intelligence))],
        prop::collection::vec(shot, 0..8),
        prop::bool::weighted(0.8),
        prop::option::weighted(0.3, 3u64..=15),
    )
        .prop_map(|(model, sound, multi_shot, shot_type, shots, duration_is_the_total, long)| V3 {
            model,
            sound,
            multi_shot,
            shot_type,
            shots,
            duration_is_the_total,
            long,
        })
}

/// Mostly plausible prompts (so many requests pass validation), sometimes broken ones.
fn prompt() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        6 => Just("a cat".to_owned()),
        3 => Just("<<<image_1>>>".to_owned()),
        1 => Just("<<<image_2>>>".to_owned()),
        1 => Just("<<<image_8>>>".to_owned()),
        2 => Just("<<<element_1>>>".to_owned()),
        1 => Just("<<<element_3>>>".to_owned()),
        2 => Just("<<<video_1>>>".to_owned()),
        1 => Just("<<<video_2>>>".to_owned()),
        1 => Just("<<<img_1>>>".to_owned()),
        1 => Just(" ".to_owned()),
        1 => "\\PC{0,20}",
        1 => "x{2490,2510}",
    ];
    prop::collection::vec(word, 0..4).prop_map(|words| words.join(" "))
}

fn image() -> impl Strategy<Value = ImageInput> {
    let url = prop_oneof![
        8 => Just("https://example.com/a.png".to_owned()),
        2 => Just("iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB".to_owned()),
        1 => Just("data:image/png;base64,iVBORw0KGgoAAAANSUhEUg".to_owned()),
        1 => Just("ftp://example.com/a.png".to_owned()),
        1 => Just("/tmp/a.png".to_owned()),
        1 => Just(String::new()),
    ];
    let frame = prop_oneof![
        6 => Just(None),
        2 => Just(Some(ImageType::FirstFrame)),
        1 => Just(Some(ImageType::EndFrame)),
    ];
    (url, frame).prop_map(|(image_url, frame)| ImageInput { image_url, frame })
}

fn video() -> impl Strategy<Value = VideoInput> {
    let url = prop_oneof![
        8 => Just("https://example.com/a.mp4".to_owned()),
        1 => Just("./a.mp4".to_owned()),
    ];
    let refer = prop_oneof![
        Just(None),
        Just(Some(ReferType::Base)),
        Just(Some(ReferType::Feature))
    ];
    let sound = prop_oneof![
        Just(None),
        Just(Some(KeepOriginalSound::Yes)),
        Just(Some(KeepOriginalSound::No))
    ];
    (url, refer, sound).prop_map(|(video_url, refer_type, keep_original_sound)| VideoInput {
        video_url,
        refer_type,
        keep_original_sound,
    })
}

prop_compose! {
    fn request()(
        prompt in prompt(),
        image_list in prop::collection::vec(image(), 0..4),
        element_ids in prop::collection::vec(prop_oneof![1 => Just(0u64), 6 => 1u64..5, 2 => Just(829_376_081_165_181_009u64)], 0..4),
        video_list in prop::collection::vec(video(), 0..2),
        many in prop::option::weighted(0.1, (prop::collection::vec(image(), 4..8), prop::collection::vec(video(), 2..3))),
        mode in prop_oneof![Just(None), Just(Some(QualityMode::Std)), Just(Some(QualityMode::Pro))],
        aspect in prop_oneof![Just(AspectRatio::Landscape), Just(AspectRatio::Portrait), Just(AspectRatio::Square)],
        // Usually set aspect_ratio the way R7 wants, sometimes the other way.
        aspect_by_the_rules in prop::bool::weighted(0.9),
        duration in prop_oneof![4 => Just(Some(5u64)), 2 => Just(Some(10u64)), 2 => (3u64..=10).prop_map(Some), 1 => Just(None)],
        callback in prop_oneof![8 => Just(None), 1 => Just(Some("https://example.com/hook".to_owned())), 1 => Just(Some("http://x".to_owned()))],
        external in prop_oneof![8 => Just(None), 1 => Just(Some("order-1".to_owned())), 1 => Just(Some("bad id/".to_owned()))],
        v3 in v3(),
    ) -> CreateTaskRequest {
        let mut request = CreateTaskRequest::text(prompt);
        request.image_list = image_list;
        request.element_list = element_ids.into_iter().map(|element_id| ElementRef { element_id }).collect();
        request.video_list = video_list;
        if let Some((images, videos)) = many {
            request.image_list.extend(images);
            request.video_list.extend(videos);
        }
        request.mode = mode;
        let first_frame = request.image_list.iter().any(|i| i.frame == Some(ImageType::FirstFrame));
        let base_video = request.video_list.iter().any(|v| v.refer_type.unwrap_or(ReferType::Base) == ReferType::Base);
        let wants_aspect = !(first_frame || base_video);
        request.aspect_ratio = (wants_aspect == aspect_by_the_rules).then_some(aspect);
        request.duration = duration.and_then(VideoDuration::new);
        request.callback_url = callback;
        request.external_task_id = external;
        request.model_name = v3.model;
        request.sound = v3.sound;
        request.multi_shot = v3.multi_shot;
        request.shot_type = v3.shot_type;
        if let Some(long) = v3.long {
            request.duration = VideoDuration::new(long);
        }
        if v3.shot_type == Some(ShotType::Customize) {
            if v3.duration_is_the_total {
                request.duration = VideoDuration::new(v3.shots.iter().map(|s| u64::from(s.duration.seconds())).sum());
            }
            request.multi_prompt = v3.shots;
        }
        request
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::hash_map(
                prop_oneof![
                    Just("prompt".to_owned()),
                    Just("image_list".to_owned()),
                    Just("image_url".to_owned()),
                    Just("type".to_owned()),
                    Just("element_list".to_owned()),
                    Just("element_id".to_owned()),
                    Just("video_list".to_owned()),
                    Just("duration".to_owned()),
                    Just("aspect_ratio".to_owned()),
                    Just("model_name".to_owned()),
                    Just("sound".to_owned()),
                    Just("multi_shot".to_owned()),
                    Just("shot_type".to_owned()),
                    Just("multi_prompt".to_owned()),
                    Just("index".to_owned()),
                    "[a-z_]{1,8}",
                ],
                inner,
                0..5,
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn whatever_validate_accepts_the_simulated_api_accepts(request in request()) {
        if let Ok(valid) = request.validate() {
            let body = serde_json::to_value(valid.body()).unwrap();
            prop_assert_eq!(check_create(&body), Ok(()), "body: {}", body);
        }
    }

    #[test]
    fn validation_never_panics_on_arbitrary_json(value in json_value()) {
        if let Ok(request) = serde_json::from_value::<CreateTaskRequest>(value) {
            let _ = request.validate();
        }
    }
}
