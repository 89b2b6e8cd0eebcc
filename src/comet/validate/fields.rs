//! Checks of single fields: URLs, ids, and the prompt's placeholders.

use super::Check;
use crate::comet::inputs::{
    is_base64, is_http_url, looks_like_local_path, looks_like_url, placeholder_tokens,
    strip_data_uri,
};

impl Check {
    pub(super) fn image_urls(&mut self) {
        for index in 0..self.request.image_list.len() {
            let field = format!("image_list[{index}].image_url");
            let Some(image) = self.request.image_list.get_mut(index) else {
                continue;
            };
            // Checked in place: a local image's base64 is megabytes, not worth a copy.
            let text = image.image_url.as_str();
            let url = text.trim();
            if let Some(bare) = strip_data_uri(url) {
                // `bare` is the tail of the trimmed text: keep just it, without reallocating.
                let end = text.trim_end().len();
                let start = end - bare.len();
                image.image_url.truncate(end);
                image.image_url.drain(..start);
                self.warnings.push(format!(
                    "{field}: removed the data: URI prefix; the API takes bare base64"
                ));
            } else if url.is_empty() {
                self.fail(
                    field,
                    "is empty",
                    "give a public http(s) URL, a local image path, or base64 data",
                );
            } else if looks_like_url(url) {
                if !is_http_url(url) {
                    self.fail(
                        field,
                        "is not a valid http(s) URL",
                        "give a public http(s) URL",
                    );
                }
            } else if looks_like_local_path(url) {
                self.fail(
                    field,
                    "is a local path that was not read",
                    "pass the path to the MCP tool or CLI, which read local images, or upload the image and give its URL",
                );
            } else if !is_base64(url) {
                self.fail(
                    field,
                    "is neither an http(s) URL nor base64 image data",
                    "give a public http(s) URL or a local image path",
                );
            }
        }
    }
    pub(super) fn videos(&mut self) {
        let videos = self.request.video_list.clone();
        for (index, video) in videos.iter().enumerate() {
            let url = video.video_url.trim();
            if !is_http_url(url) {
                let problem = if looks_like_local_path(url) {
                    "is a local path, but the API needs a public URL for videos"
                } else {
                    "is not an http(s) URL"
                };
                self.fail(
                    format!("video_list[{index}].video_url"),
                    problem,
                    "upload the video (MP4/MOV, 3-10 s) somewhere public and give its http(s) URL",
                );
            }
        }
    }
    pub(super) fn elements(&mut self) {
        let zeros: Vec<usize> = (0..self.request.element_list.len())
            .filter(|&i| {
                self.request
                    .element_list
                    .get(i)
                    .is_some_and(|e| e.element_id == 0)
            })
            .collect();
        for index in zeros {
            self.fail(
                format!("element_list[{index}].element_id"),
                "is 0; element ids are positive",
                "use the id from the Kling element library",
            );
        }
    }
    pub(super) fn callback_url(&mut self) {
        let Some(url) = self.request.callback_url.clone() else {
            return;
        };
        let valid = reqwest::Url::parse(url.trim())
            .is_ok_and(|u| u.scheme() == "https" && u.host().is_some());
        if !valid {
            self.fail(
                "callback_url",
                "is not a valid https URL",
                "give a public https URL, or omit it (polling works without)",
            );
        }
    }
    pub(super) fn external_task_id(&mut self) {
        let Some(id) = self.request.external_task_id.clone() else {
            return;
        };
        // The one external id check, so the lookup by external id after an ambiguous create
        // can always be made.
        match crate::comet::ExternalTaskId::parse(&id) {
            Ok(external) => self.external = Some(external),
            Err(violation) => self.violations.push(violation),
        }
    }
    pub(super) fn placeholders(&mut self) {
        // Shot prompts refer to the inputs just as the main prompt does.
        let mut prompts = vec![("prompt".to_owned(), self.request.prompt.clone())];
        for (i, shot) in self.request.multi_prompt.iter().enumerate() {
            prompts.push((format!("multi_prompt[{i}].prompt"), shot.prompt.clone()));
        }
        let counts = [
            ("image", self.request.image_list.len()),
            ("element", self.request.element_list.len()),
            ("video", self.request.video_list.len()),
        ];
        let mut used: Vec<(String, usize)> = Vec::new();
        for (field, token) in prompts.iter().flat_map(|(field, prompt)| {
            placeholder_tokens(prompt)
                .into_iter()
                .map(move |t| (field, t))
        }) {
            let parsed = token
                .rsplit_once('_')
                .and_then(|(kind, n)| Some((kind, n.parse::<usize>().ok()?)));
            let Some((kind, index)) = parsed else {
                self.warnings.push(format!("<<<{token}>>> in the prompt is not a placeholder the API knows (use image_N, element_N or video_1)"));
                continue;
            };
            let Some(&(_, count)) = counts.iter().find(|(name, _)| *name == kind) else {
                self.warnings.push(format!("<<<{token}>>> in the prompt is not a placeholder the API knows (use image_N, element_N or video_1)"));
                continue;
            };
            if index == 0 || index > count {
                self.fail(
                    field.clone(),
                    format!("refers to <<<{token}>>>, but {kind}_list has {count} item(s)"),
                    format!("add the {kind} or fix the number (positions start at 1)"),
                );
            }
            used.push((kind.to_owned(), index));
        }
        let is_used = |kind: &str, index: usize| used.iter().any(|(k, i)| k == kind && *i == index);
        for (i, image) in self.request.image_list.iter().enumerate() {
            if image.frame.is_none() && !is_used("image", i + 1) {
                self.warnings.push(format!("image_list[{i}] is never referenced; mention it as <<<image_{}>>> in the prompt", i + 1));
            }
        }
        for i in 0..self.request.element_list.len() {
            if !is_used("element", i + 1) {
                self.warnings.push(format!("element_list[{i}] is never referenced; mention it as <<<element_{}>>> in the prompt", i + 1));
            }
        }
        if !self.request.video_list.is_empty() && !is_used("video", 1) {
            self.warnings.push(
                "video_list[0] is never referenced; mention it as <<<video_1>>> in the prompt"
                    .into(),
            );
        }
    }
}
