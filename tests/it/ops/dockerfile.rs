//! No container engine runs here, so this checks what can be checked of the Dockerfile: its
//! build is the project's real build, and its runtime stage runs the binary that build makes.

use std::process::Command;

fn instructions(text: &str) -> Vec<(String, String)> {
    let joined = text.replace("\\\n", " ");
    joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            l.split_once(' ')
                .map(|(op, rest)| (op.to_uppercase(), rest.trim().to_owned()))
        })
        .collect()
}

fn json_array(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_else(|_| panic!("exec form expected: {text}"))
}

#[test]
fn dockerfile_builds_and_runs_the_real_binary() {
    let root = env!("CARGO_MANIFEST_DIR");
    let dockerfile = std::fs::read_to_string(format!("{root}/Dockerfile")).unwrap();
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(format!("{root}/Cargo.toml")).unwrap()).unwrap();
    let steps = instructions(&dockerfile);
    let stages: Vec<usize> = steps
        .iter()
        .enumerate()
        .filter(|(_, (op, _))| op == "FROM")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(stages.len(), 2, "multi-stage: build and runtime");
    let (build, runtime) = (&steps[stages[0]..stages[1]], &steps[stages[1]..]);

    // Build stage: the toolchain the project declares, and `cargo build --release` of its bin.
    let rust_version = manifest["package"]["rust-version"].as_str().unwrap();
    assert!(
        build[0].1.starts_with(&format!("rust:{rust_version}")),
        "{:?}",
        build[0]
    );
    let stage_name = build[0].1.rsplit(' ').next().unwrap().to_owned();
    let workdir = build
        .iter()
        .find(|(op, _)| op == "WORKDIR")
        .unwrap()
        .1
        .clone();
    let bin = manifest["bin"][0]["name"].as_str().unwrap();
    let run = build
        .iter()
        .find(|(op, rest)| op == "RUN" && rest.contains("cargo build"))
        .unwrap();
    assert!(
        run.1.contains("--release")
            && run.1.contains("--locked")
            && run.1.contains(&format!("--bin {bin}")),
        "{run:?}"
    );

    // Runtime stage: copies exactly that artifact and runs it, as a non-root user.
    assert!(
        runtime[0].1.contains("slim") || runtime[0].1.contains("distroless"),
        "small runtime image"
    );
    let copy = runtime
        .iter()
        .find(|(op, rest)| op == "COPY" && rest.starts_with("--from="))
        .unwrap();
    let parts: Vec<&str> = copy.1.split_whitespace().collect();
    assert_eq!(parts[0], format!("--from={stage_name}"));
    assert_eq!(parts[1], format!("{workdir}/target/release/{bin}"));
    let installed = parts[2];
    let entrypoint = json_array(&runtime.iter().find(|(op, _)| op == "ENTRYPOINT").unwrap().1);
    assert_eq!(entrypoint, [installed]);
    let cmd = json_array(&runtime.iter().find(|(op, _)| op == "CMD").unwrap().1);
    assert_eq!(cmd, ["serve"]);
    let user = &runtime.iter().find(|(op, _)| op == "USER").unwrap().1;
    assert!(user != "root" && user != "0");
    let health = &runtime
        .iter()
        .find(|(op, _)| op == "HEALTHCHECK")
        .unwrap()
        .1;
    let health_cmd = json_array(health.split_once("CMD").unwrap().1.trim());
    assert_eq!(health_cmd, [installed, "healthcheck"]);
    let env = &runtime.iter().find(|(op, _)| op == "ENV").unwrap().1;
    assert!(
        !env.contains("MASTER_KEY"),
        "no secret baked into the image"
    );
    let port = runtime
        .iter()
        .find(|(op, _)| op == "EXPOSE")
        .unwrap()
        .1
        .clone();
    assert!(env.contains(&format!("TESSERA_BIND=0.0.0.0:{port}")));
    assert!(runtime.iter().any(|(op, _)| op == "VOLUME"));

    // The commands it runs exist in the binary cargo builds here.
    for args in [cmd.clone(), health_cmd[1..].to_vec()] {
        let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(&args)
            .arg("--help")
            .output()
            .unwrap();
        assert!(out.status.success(), "tessera {args:?} --help");
    }
}
