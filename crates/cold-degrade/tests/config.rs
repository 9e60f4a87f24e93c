//! Configurations: the original's flag names and strings parse, defaults are the original
//! scripts' defaults, presets are the paper's, and bad values are errors naming field and value.

use cold_degrade::{
    BlurConfig, BlurRoutine, ConfigError, DecolorRoutine, DegradationConfig, FadeRoutine, presets,
};

fn invalid(json: &str) -> String {
    match DegradationConfig::from_json(json) {
        Ok(c) => panic!("{json} was accepted as {c:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn original_command_lines_translate_field_by_field() {
    // deblurring-diffusion-pytorch: celebA_128.py --discrete --time_steps 300 --blur_size 27
    //   --blur_std 0.01 --blur_routine Exponential
    let cfg = DegradationConfig::from_toml(
        r#"
        operator = "blur"
        time_steps = 300
        blur_size = 27
        blur_std = 0.01
        blur_routine = "Exponential"
        discrete = true
        "#,
    )
    .unwrap();
    let preset = DegradationConfig::preset("blur-gen-celeba").unwrap();
    match (&cfg, &preset) {
        (DegradationConfig::Blur(a), DegradationConfig::Blur(b)) => {
            assert_eq!(
                a,
                &BlurConfig {
                    image_size: None,
                    channels: None,
                    ..b.clone()
                }
            )
        }
        _ => panic!("not blur"),
    }
    // every routine string of the original
    for (s, r) in [
        ("Incremental", BlurRoutine::Incremental),
        ("Constant", BlurRoutine::Constant),
        ("Constant_reflect", BlurRoutine::ConstantReflect),
        ("Exponential", BlurRoutine::Exponential),
        ("Exponential_reflect", BlurRoutine::ExponentialReflect),
        ("Special_6_routine", BlurRoutine::Special6),
        ("Individual_Incremental", BlurRoutine::IndividualIncremental),
    ] {
        let c = DegradationConfig::from_json(&format!(
            r#"{{"operator": "blur", "blur_routine": "{s}"}}"#
        ))
        .unwrap();
        assert!(matches!(c, DegradationConfig::Blur(b) if b.blur_routine == r && r.as_str() == s));
    }
    for (s, r) in [
        ("Incremental", FadeRoutine::Incremental),
        ("Random_Incremental", FadeRoutine::RandomIncremental),
        ("Constant", FadeRoutine::Constant),
    ] {
        let c = DegradationConfig::from_json(&format!(
            r#"{{"operator": "inpaint", "fade_routine": "{s}"}}"#
        ))
        .unwrap();
        assert!(
            matches!(c, DegradationConfig::Inpaint(b) if b.fade_routine == r && r.as_str() == s)
        );
    }
    let c = DegradationConfig::from_json(
        r#"{"operator": "decolor", "time_steps": 20, "decolor_routine": "Linear", "decolor_total_remove": true}"#,
    )
    .unwrap();
    assert!(
        matches!(c, DegradationConfig::Decolor(d) if d.decolor_routine == DecolorRoutine::Linear)
    );
}

#[test]
fn defaults_are_the_original_scripts_defaults() {
    let parse =
        |op: &str| DegradationConfig::from_json(&format!(r#"{{"operator": "{op}"}}"#)).unwrap();
    assert_eq!(
        parse("blur").parameters(),
        "operator=blur time_steps=50 blur_size=3 blur_std=0.1 blur_routine=Incremental discrete=false"
    );
    assert_eq!(
        parse("inpaint").parameters(),
        "operator=inpaint time_steps=50 kernel_std=0.1 initial_mask=11 fade_routine=Incremental discrete=false"
    );
    assert_eq!(
        parse("inpaint_generation").parameters(),
        "operator=inpaint_generation time_steps=50 kernel_std=0.15 initial_mask=11 reverse=false"
    );
    assert_eq!(
        parse("decolor").parameters(),
        "operator=decolor time_steps=50 decolor_routine=Constant decolor_ema_factor=0.9 decolor_total_remove=false"
    );
    assert_eq!(
        parse("animorph").parameters(),
        "operator=animorph time_steps=50"
    );
    assert_eq!(
        parse("noise").parameters(),
        "operator=noise time_steps=50 beta_schedule=cosine"
    );
}

#[test]
fn presets_have_the_fixed_names_and_the_paper_settings() {
    let names: Vec<&str> = presets().iter().map(|p| p.name).collect();
    for name in [
        "blur-mnist",
        "blur-cifar10",
        "blur-celeba",
        "blur-gen-celeba",
        "inpaint-mnist",
        "inpaint-cifar10",
        "inpaint-celeba",
        "inpaint-gen-celeba",
        "decolor-cifar10",
        "decolor-celeba",
        "animorph-celeba",
        "noise-celeba",
    ] {
        assert!(names.contains(&name), "missing preset {name}");
    }
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len(), "duplicate preset names");
    let p = |n: &str| DegradationConfig::preset(n).unwrap().parameters();
    assert_eq!(
        p("blur-mnist"),
        "operator=blur time_steps=20 blur_size=11 blur_std=7.0 blur_routine=Constant discrete=false image_size=32 channels=1"
    );
    assert!(
        p("blur-cifar10").contains("time_steps=50 ")
            && p("blur-cifar10").contains("Special_6_routine")
    );
    assert!(
        p("blur-celeba")
            .contains("time_steps=200 blur_size=15 blur_std=0.01 blur_routine=Exponential_reflect")
    );
    assert!(p("blur-gen-celeba").contains(
        "time_steps=300 blur_size=27 blur_std=0.01 blur_routine=Exponential discrete=true"
    ));
    for n in ["inpaint-mnist", "inpaint-cifar10"] {
        assert!(p(n).contains("time_steps=50 kernel_std=0.1 initial_mask=11 fade_routine=Random_Incremental discrete=true"), "{n}");
    }
    assert!(
        p("inpaint-celeba")
            .contains("time_steps=100 kernel_std=0.2 initial_mask=1 fade_routine=Incremental")
    );
    assert!(
        p("inpaint-gen-celeba")
            .contains("time_steps=750 kernel_std=0.05 initial_mask=1 reverse=true")
    );
    for n in ["decolor-cifar10", "decolor-celeba"] {
        assert!(
            p(n).contains("time_steps=20 decolor_routine=Linear")
                && p(n).contains("decolor_total_remove=true"),
            "{n}"
        );
    }
    assert!(p("animorph-celeba").contains("time_steps=200"));
    assert!(p("noise-celeba").contains("time_steps=200 beta_schedule=cosine"));
    for preset in presets() {
        assert!(!preset.description.is_empty() && !preset.description.contains('\n'));
        preset
            .config
            .validate()
            .unwrap_or_else(|e| panic!("{}: {e}", preset.name));
    }
}

#[test]
fn bad_values_are_errors_that_name_the_field_and_the_value() {
    let cases = [
        (r#"{"operator": "blur", "blur_size": 4}"#, "`blur_size` = 4"),
        (
            r#"{"operator": "blur", "blur_std": -1.0, "blur_routine": "Constant"}"#,
            "`blur_std` = -1",
        ),
        (
            r#"{"operator": "blur", "blur_std": 5.0, "blur_routine": "Exponential", "time_steps": 300}"#,
            "`blur_std` = 5",
        ),
        (
            r#"{"operator": "blur", "image_size": 0}"#,
            "`image_size` = 0",
        ),
        (
            r#"{"operator": "inpaint", "kernel_std": 0.0}"#,
            "`kernel_std` = 0",
        ),
        (
            r#"{"operator": "inpaint", "initial_mask": 0}"#,
            "`initial_mask` = 0",
        ),
        (
            r#"{"operator": "inpaint", "image_size": 33}"#,
            "`image_size` = 33",
        ),
        (
            r#"{"operator": "inpaint_generation", "image_size": 31}"#,
            "`image_size` = 31",
        ),
        (
            r#"{"operator": "decolor", "decolor_ema_factor": 1.5}"#,
            "`decolor_ema_factor` = 1.5",
        ),
        (
            r#"{"operator": "noise", "beta_schedule": "linear", "time_steps": 10}"#,
            "`time_steps` = 10",
        ),
        (
            r#"{"operator": "animorph", "channels": 0}"#,
            "`channels` = 0",
        ),
    ];
    for (json, needle) in cases {
        let err = invalid(json);
        assert!(err.contains(needle), "{json}: {err}");
    }
    // parse errors name the unknown field, variant or operator
    let err = invalid(r#"{"operator": "blur", "blur_sigma": 3}"#);
    assert!(err.contains("blur_sigma"), "{err}");
    let err = invalid(r#"{"operator": "blur", "blur_routine": "Special_7_routine"}"#);
    assert!(
        err.contains("Special_7_routine") && err.contains("Special_6_routine"),
        "{err}"
    );
    let err = invalid(r#"{"operator": "sharpen"}"#);
    assert!(err.contains("sharpen"), "{err}");
    let err = DegradationConfig::from_toml("operator = \"blur\"\ntime_steps = -3\n").unwrap_err();
    assert!(
        matches!(err, ConfigError::Parse { format: "TOML", .. }),
        "{err}"
    );
    // unknown presets list the known ones
    let err = DegradationConfig::preset("blur-imagenet")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("blur-imagenet") && err.contains("blur-mnist"),
        "{err}"
    );
}
