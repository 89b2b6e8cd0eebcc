use std::pin::pin;
use std::task::{Context, Poll, Waker};

use http_body::Body as _;
use proptest::prelude::*;

use super::*;
use crate::comet::ImageType;

/// Every frame of a body, polled to the end.
fn frames(body: CreateBody) -> Vec<Bytes> {
    let mut body = pin!(body);
    let mut context = Context::from_waker(Waker::noop());
    let mut frames = Vec::new();
    while let Poll::Ready(Some(frame)) = body.as_mut().poll_frame(&mut context) {
        frames.push(frame.unwrap().into_data().unwrap());
    }
    assert!(body.is_end_stream());
    frames
}

fn assert_same_as_serde(request: CreateTaskRequest) {
    let expected = serde_json::to_vec(&request).unwrap();
    let body = CreateBody::new(Arc::new(request)).unwrap();
    assert_eq!(body.size_hint().exact(), Some(expected.len() as u64));
    let sent = frames(body);
    assert!(
        sent.iter()
            .all(|frame| frame.len() <= PIECE_BYTES.max(4096))
    );
    assert_eq!(sent.concat(), expected);
}

fn image(url: impl Into<String>, frame: Option<ImageType>) -> ImageInput {
    ImageInput {
        image_url: url.into(),
        frame,
    }
}

#[test]
fn large_images_stream_in_pieces_and_the_json_is_unchanged() {
    let mut request = CreateTaskRequest::text("<<<image_1>>> meets <<<image_2>>> \"quoted\"\n");
    request.image_list = vec![
        image("QUJD".repeat(300_000), Some(ImageType::FirstFrame)),
        image("https://example.com/a.png", None),
        image("", None),
        image("needs \"escaping\"\\", None),
        image("A".repeat(PIECE_BYTES), None),
    ];
    let request = request.for_wire();
    let body = CreateBody::new(Arc::new(request.clone())).unwrap();
    let sent = frames(body);
    // The first image alone takes several pieces.
    assert!(sent.len() > 5, "{} frames", sent.len());
    assert_same_as_serde(request);
}

#[test]
fn a_request_without_images_is_one_piece() {
    let request = CreateTaskRequest::text("p").for_wire();
    let body = CreateBody::new(Arc::new(request.clone())).unwrap();
    assert_eq!(frames(body).len(), 1);
    assert_same_as_serde(request);
}

proptest! {
    #[test]
    fn any_request_streams_as_serde_json_writes_it(
        prompt in ".{0,40}",
        urls in proptest::collection::vec(".{0,40}", 0..8),
    ) {
        let mut request = CreateTaskRequest::text(prompt);
        request.image_list = urls.into_iter().map(|url| image(url, None)).collect();
        assert_same_as_serde(request.for_wire());
    }
}
