//! The policy's own parsers of untrusted text: SPDX licence expressions (from METADATA), pip.conf, the
//! `allowed_packages.json` allowlist, a `[policy]` section with its validation, and the
//! typosquat check on arbitrary names. None may panic; a parsed expression must print back to
//! an expression that parses to the same thing.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(expression) = aigate_policy::licence::parse_expression(text) {
        let printed = expression.to_string();
        let again = aigate_policy::licence::parse_expression(&printed);
        assert_eq!(again.as_ref().ok(), Some(&expression), "{printed}");
        let _ = expression.allowed_by(&["MIT"]);
        let _ = expression.denied_by(&["GPL-3.0-only"]);
    }
    let _ = aigate_policy::parse_allowlist_file(text);
    let _ = aigate_policy::parse_pip_conf(std::path::Path::new("pip.conf"), text);
    if let Ok(config) = toml::from_str::<aigate_policy::PolicyConfig>(text) {
        let _ = aigate_policy::Policy::new(&config, "aigate.toml", text, std::path::Path::new("/nonexistent"));
    }
    let name = aigate_python::pep::normalize_name(text);
    let _ = aigate_policy::typosquat::popular().typosquat_of(&name);
});
