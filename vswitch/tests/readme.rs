//! The README's model file example is a model `vsctl apply -f` takes.

use vswitch::model::Model;

#[test]
fn the_readme_model_example_is_valid() {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("### The model file")
        .nth(1)
        .expect("README has a model file section");
    let toml = section
        .split("```toml\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("the section has a TOML example");
    let model = Model::parse("toml", toml).expect("the example parses");
    vswitch::config::validate::validate(&model).expect("the example is valid");
    assert!(!model.networks.is_empty() && !model.ports.is_empty());
}
