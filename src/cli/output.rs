//! How commands print: human text, or one JSON value with `--json`.

pub fn print(json_output: bool, value: serde_json::Value, text: &str) {
    if json_output {
        println!("{value}");
    } else {
        println!("{text}");
    }
}

/// Lines of a listing, or `empty` when there are none.
pub fn listing<T>(items: &[T], line: impl Fn(&T) -> String, empty: &str) -> String {
    if items.is_empty() {
        return empty.to_owned();
    }
    items.iter().map(line).collect::<Vec<_>>().join("\n")
}

/// Any error, as the one line the CLI prints.
pub fn fail(e: impl std::fmt::Display) -> String {
    e.to_string()
}
