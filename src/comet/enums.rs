//! Closed value sets of the create request: sent exactly as the API spells them, accepted in any
//! letter case (an agent that writes `PRO` means `pro`).

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// Declares a string enum whose wire spelling is given per variant; see the module docs.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident $(bools($yes:ident, $no:ident))? { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every accepted value, as sent on the wire.
            pub const VALUES: &'static [&'static str] = &[$($wire),+];

            /// What a valid value looks like, for error messages.
            const EXPECTED: &'static str = concat!("one of" $(, " `", $wire, "`")+);

            /// The exact wire spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire),+
                }
            }

            /// The value a JSON boolean stands for, for enums that are yes/no in disguise.
            fn from_bool(value: bool) -> Option<Self> {
                let pair: Option<(Self, Self)> = None $(.or(Some((Self::$yes, Self::$no))))?;
                pair.map(|(yes, no)| if value { yes } else { no })
            }

            /// Parses a value, ignoring letter case and surrounding spaces.
            pub fn parse(value: &str) -> Option<Self> {
                let value = value.trim();
                $(if value.eq_ignore_ascii_case($wire) {
                    return Some(Self::$variant);
                })+
                None
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                #[derive(Deserialize)]
                #[serde(untagged)]
                enum Raw {
                    Text(String),
                    Flag(bool),
                }
                match Raw::deserialize(deserializer) {
                    Ok(Raw::Text(text)) => {
                        Self::parse(&text).ok_or_else(|| de::Error::unknown_variant(&text, Self::VALUES))
                    }
                    Ok(Raw::Flag(flag)) => Self::from_bool(flag).ok_or_else(|| {
                        de::Error::invalid_type(de::Unexpected::Bool(flag), &Self::EXPECTED)
                    }),
                    Err(_) => Err(de::Error::custom(format_args!(
                        "invalid type, expected {}", Self::EXPECTED
                    ))),
                }
            }
        }

        impl JsonSchema for $name {
            fn inline_schema() -> bool {
                true
            }

            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({ "type": "string", "enum": [$($wire),+] })
            }
        }
    };
}

wire_enum! {
    /// The model that renders the video.
    ModelName {
        /// Kling O1 Omni, the default.
        KlingVideoO1 = "kling-video-o1",
        /// Kling 3.0 Omni (listed only in CometAPI's newest docs).
        KlingV3Omni = "kling-v3-omni",
    }
}

#[allow(
    clippy::derivable_impls,
    reason = "`wire_enum!` declares the enum, so `#[default]` cannot mark a variant"
)]
impl Default for ModelName {
    fn default() -> Self {
        Self::KlingVideoO1
    }
}

wire_enum! {
    /// Quality switch: resolution and price.
    QualityMode {
        /// 720p, cheaper.
        Std = "std",
        /// 1080p, the API's default.
        Pro = "pro",
    }
}

wire_enum! {
    /// Output frame shape.
    AspectRatio {
        /// Landscape.
        Landscape = "16:9",
        /// Portrait.
        Portrait = "9:16",
        /// Square.
        Square = "1:1",
    }
}

wire_enum! {
    /// Role of an image that is a frame rather than a reference.
    ImageType {
        /// The video starts on this image.
        FirstFrame = "first_frame",
        /// The video ends on this image (needs a `first_frame`).
        EndFrame = "end_frame",
    }
}

wire_enum! {
    /// How a video input is used.
    ReferType {
        /// Style or camera reference for new footage (e.g. the next shot).
        Feature = "feature",
        /// The clip to edit.
        Base = "base",
    }
}

wire_enum! {
    /// Whether the output keeps the input video's sound; `"yes"`/`"no"` on the wire.
    KeepOriginalSound bools(Yes, No) {
        /// Keep it.
        Yes = "yes",
        /// Drop it.
        No = "no",
    }
}

wire_enum! {
    /// Native audio generated with the video (Kling 3.0 Omni); `"on"`/`"off"` on the wire.
    Sound bools(On, Off) {
        /// Generate sound.
        On = "on",
        /// Silent video, the API's default.
        Off = "off",
    }
}

wire_enum! {
    /// How a storyboard (`multi_shot`) is cut into shots (Kling 3.0 Omni).
    ShotType {
        /// The caller gives each shot in `multi_prompt`.
        Customize = "customize",
        /// The model cuts the prompt into shots.
        Intelligence = "intelligence",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_round_trip_with_their_wire_spelling() {
        for value in AspectRatio::VALUES {
            let parsed: AspectRatio = serde_json::from_value(json!(value)).unwrap();
            assert_eq!(serde_json::to_value(parsed).unwrap(), json!(value));
        }
        assert_eq!(
            serde_json::to_value(ModelName::default()).unwrap(),
            json!("kling-video-o1")
        );
    }

    #[test]
    fn input_ignores_case_but_output_is_exact() {
        let mode: QualityMode = serde_json::from_value(json!(" PRO ")).unwrap();
        assert_eq!(mode, QualityMode::Pro);
        assert_eq!(serde_json::to_value(mode).unwrap(), json!("pro"));
        let kind: ImageType = serde_json::from_value(json!("First_Frame")).unwrap();
        assert_eq!(kind.as_str(), "first_frame");
    }

    #[test]
    fn unknown_values_name_the_allowed_ones() {
        let err = serde_json::from_value::<AspectRatio>(json!("4:3")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown variant `4:3`, expected one of `16:9`, `9:16`, `1:1`"
        );
        let err = serde_json::from_value::<QualityMode>(json!(1)).unwrap_err();
        assert_eq!(err.to_string(), "invalid type, expected one of `std` `pro`");
        let err = serde_json::from_value::<QualityMode>(json!(true)).unwrap_err();
        assert!(
            err.to_string().contains("invalid type: boolean `true`"),
            "{err}"
        );
    }

    #[test]
    fn keep_original_sound_takes_booleans_and_sends_yes_or_no() {
        for (input, wire) in [
            (json!(true), "yes"),
            (json!(false), "no"),
            (json!("YES"), "yes"),
        ] {
            let value: KeepOriginalSound = serde_json::from_value(input).unwrap();
            assert_eq!(serde_json::to_value(value).unwrap(), json!(wire));
        }
    }

    #[test]
    fn schema_is_an_inline_string_enum() {
        let schema = schemars::schema_for!(ReferType);
        assert_eq!(schema.get("enum"), Some(&json!(["feature", "base"])));
    }
}
