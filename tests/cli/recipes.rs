//! The recipes for running shards on existing schedulers (`deploy/`: a Kubernetes Indexed Job, a Slurm array
//! script, GNU parallel): each names the right fields and passes a valid `--shard` command line (the Kubernetes one
//! with `--handoff` on its shared volume).

use std::path::{Path, PathBuf};

use clap::Parser as _;

use crate::support::*;

fn recipe(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(name)
}

/// A shell recipe from `deploy/` that `bash -n` accepts: its path and text.
fn checked_script(name: &str) -> (PathBuf, String) {
    let script = recipe(name);
    let status = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap();
    assert!(status.success(), "bash -n {name}");
    let text = std::fs::read_to_string(&script).unwrap();
    (script, text)
}

/// The crawlfish command of a recipe, with the scheduler's variables filled in, must be a valid command line.
fn assert_valid_command(words: &[&str]) {
    let cli = crawlfish::Cli::try_parse_from(words).unwrap_or_else(|e| panic!("{words:?}: {e}"));
    cli.into_config()
        .unwrap_or_else(|e| panic!("{words:?}: {e}"));
}

#[test]
fn k8s_manifest_names_the_right_fields() {
    use yaml_rust2::{Yaml, YamlLoader};
    let text = std::fs::read_to_string(recipe("k8s-indexed-job.yaml")).unwrap();
    let docs = YamlLoader::load_from_str(&text).unwrap();
    let job = docs
        .iter()
        .find(|d| d["kind"].as_str() == Some("Job"))
        .expect("a Job document");
    assert_eq!(job["apiVersion"].as_str(), Some("batch/v1"));
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    assert!(spec["backoffLimitPerIndex"].as_i64().is_some());
    let n = spec["completions"].as_i64().expect("completions");
    assert!(spec["parallelism"]
        .as_i64()
        .is_some_and(|p| (1..=n).contains(&p)));
    let pod = &spec["template"]["spec"];
    assert_eq!(
        pod["restartPolicy"].as_str(),
        Some("Never"),
        "backoffLimitPerIndex needs it"
    );
    let codes: Vec<i64> = spec["podFailurePolicy"]["rules"]
        .as_vec()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r["onExitCodes"]["values"]
                .as_vec()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|v| v.as_i64())
        .collect();
    assert!(codes.contains(&75) && codes.contains(&2), "{codes:?}");

    let c = &pod["containers"][0];
    for rule in spec["podFailurePolicy"]["rules"].as_vec().unwrap() {
        let named = &rule["onExitCodes"]["containerName"];
        assert!(named.is_badvalue() || *named == c["name"], "{rule:?}");
    }
    let args: Vec<&str> = c["args"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    let script = args.join(" ");
    let env: Vec<&str> = c["env"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert!(
        env.contains(&"JOB_COMPLETION_INDEX"),
        "$(VAR) is expanded only for declared variables"
    );
    assert!(
        script.contains(&format!("--shard $(JOB_COMPLETION_INDEX)/{n} ")),
        "--shard I/{n} with I from the Job: {script}"
    );
    // The state directory is on a mounted volume backed by a PersistentVolumeClaim.
    let words: Vec<&str> = script.split_whitespace().collect();
    let state = words[words.iter().position(|w| *w == "--state").unwrap() + 1];
    let mount = c["volumeMounts"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|m| state.starts_with(&format!("{}/", m["mountPath"].as_str().unwrap())))
        .unwrap_or_else(|| panic!("--state {state} is on no volumeMount"));
    let volume = pod["volumes"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .unwrap();
    assert!(
        !volume["persistentVolumeClaim"]["claimName"].is_badvalue(),
        "{volume:?}"
    );
    // --handoff: one directory for every pod, on the same shared volume (not per index), under --scope any.
    let handoff = words[words
        .iter()
        .position(|w| *w == "--handoff")
        .expect("--handoff")
        + 1];
    assert!(
        handoff.starts_with(&format!("{}/", mount["mountPath"].as_str().unwrap())),
        "--handoff {handoff} is on the shared volume"
    );
    assert!(
        !handoff.contains("JOB_COMPLETION_INDEX"),
        "one DIR for all shards: {handoff}"
    );
    assert!(
        script.contains("--scope any"),
        "handing over is for --scope any: {script}"
    );
    // The crawlfish command itself, as Kubernetes runs it for index 3.
    let command = script
        .split(';')
        .next()
        .unwrap()
        .replace("$(JOB_COMPLETION_INDEX)", "3");
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(words[0], "crawlfish");
    assert_valid_command(&words);
}

/// The Slurm script, run with a stand-in `crawlfish` on PATH as Slurm would run task 2 of 3: it passes
/// `--shard 2/3` and `--state …/shard-2`, turns exit 1 (some URLs failed) into 0 and passes 75 on.
#[test]
fn slurm_script_shards_by_array_task() {
    let (script, text) = checked_script("slurm-array.sh");
    assert!(text.contains("#SBATCH --array=0-"));
    assert!(text.contains("SLURM_ARRAY_TASK_ID"));
    let dir = tempdir("slurm");
    for (stub_exit, want_exit) in [(0, 0), (1, 0), (75, 75), (2, 2)] {
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let stub = bin.join("crawlfish");
        let log = dir.join("args.txt");
        std::fs::write(
            &stub,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nexit {stub_exit}\n",
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&stub, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let out = std::process::Command::new("bash")
            .arg(&script)
            .arg("urls.txt")
            .current_dir(&dir)
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("SLURM_ARRAY_TASK_ID", "2")
            .env("SLURM_ARRAY_TASK_COUNT", "3")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(want_exit),
            "crawlfish exit {stub_exit}: {out:?}"
        );
        let args = std::fs::read_to_string(&log).unwrap();
        let mut words: Vec<&str> = vec!["crawlfish"];
        words.extend(args.lines());
        assert!(args.contains("--shard\n2/3\n"), "{args}");
        assert!(args.contains("--state\ncrawl-state/shard-2\n"), "{args}");
        assert_valid_command(&words);
    }
}

/// The GNU parallel recipe is valid shell and runs `--shard {}/N` over `seq 0 N-1`.
#[test]
fn parallel_recipe_shards_by_job() {
    let (_, text) = checked_script("parallel.sh");
    assert!(text.contains("--shard {}/\"$N\""), "{text}");
    assert!(text.contains("::: $(seq 0 $((N - 1)))"), "{text}");
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(
        readme.contains("parallel -j 4 crawlfish --shard {}/4"),
        "README's one-line recipe"
    );
    // What one job of the README line runs (job 1).
    assert_valid_command(&[
        "crawlfish",
        "--shard",
        "1/4",
        "--state",
        "state/1",
        "urls.txt",
    ]);
}
