//! The fuzz corpora (`fuzz/corpus/`, docs/FUZZING.md) replayed through the relay's own code on
//! every `cargo test`: each of the ~400 client frames the fuzzer kept goes through the frame
//! decoder of both endpoints. libFuzzer itself (new inputs, coverage) runs with
//! `fuzz/ci.sh`; this keeps what it found from coming back between those runs.

use std::fs;
use std::path::Path;
use switchboard_relay::ws::agent::AgentEndpoint;
use switchboard_relay::ws::connection::{decode, Endpoint};
use switchboard_relay::ws::visitor::VisitorEndpoint;
use switchboard_shared::limits::MAX_FRAME_BYTES;
use switchboard_shared::ErrorCode;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut inputs: Vec<(String, Vec<u8>)> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let bytes = fs::read(e.path()).unwrap_or_default();
            (name, bytes)
        })
        .collect();
    inputs.sort();
    inputs
}

/// The properties `fuzz/fuzz_targets/client_frame.rs` checks first, for one endpoint.
fn check<E: Endpoint>(name: &str, text: &str)
where
    E::Command: serde::Serialize,
{
    let value = serde_json::from_str::<serde_json::Value>(text).ok();
    match decode::<E>(text) {
        Ok((cmd, _)) => {
            let value = value.unwrap_or_else(|| panic!("{name}: decoded, yet not JSON"));
            assert!(
                value.is_object(),
                "{name}: a frame that is not an object decoded"
            );
            let kind = value["type"].as_str().unwrap_or_default();
            assert!(E::TYPES.contains(&kind), "{name}: decoded type {kind:?}");
            // What was decoded encodes and decodes again to a command.
            let again = serde_json::to_string(&cmd).unwrap_or_default();
            assert!(
                decode::<E>(&again).is_ok(),
                "{name}: {again} does not decode"
            );
        }
        Err((code, _)) => match value {
            None => assert_eq!(code, ErrorCode::BadJson, "{name}"),
            Some(_) => assert_ne!(code, ErrorCode::BadJson, "{name}: JSON called bad JSON"),
        },
    }
}

#[test]
fn every_client_frame_the_fuzzer_kept_decodes_or_is_refused_with_a_fitting_code() {
    let inputs = corpus("client_frame");
    assert!(
        inputs.len() > 100,
        "the corpus is missing: {} inputs",
        inputs.len()
    );
    let mut frames = 0;
    for (name, bytes) in &inputs {
        // The socket refuses larger frames and non-UTF-8 text before the decoder sees them.
        let Ok(text) = std::str::from_utf8(bytes) else {
            continue;
        };
        if bytes.len() > MAX_FRAME_BYTES {
            continue;
        }
        check::<VisitorEndpoint>(name, text);
        check::<AgentEndpoint>(name, text);
        frames += 1;
    }
    assert!(frames > 100, "only {frames} frames replayed");
}
