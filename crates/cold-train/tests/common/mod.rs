//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use cold_train::TrainConfig;

/// The `tiny-test` preset writing into `dir`, without a progress bar or data threads.
pub fn tiny(dir: &Path) -> TrainConfig {
    let mut c = TrainConfig::preset("tiny-test").unwrap();
    c.output_dir = dir.to_path_buf();
    c.data.workers = 0;
    c
}

/// Every float parameter of `module` as (path, bit patterns).
pub fn param_bits<M: Module>(module: &M) -> Vec<(String, Vec<u32>)> {
    #[derive(Default)]
    struct V {
        path: Vec<String>,
        out: Vec<(String, Vec<u32>)>,
    }
    impl ModuleVisitor for V {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.into());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            let v: Vec<f32> = p.val().inner().into_data().try_into_vec::<f32>().unwrap();
            self.out
                .push((self.path.join("."), v.iter().map(|x| x.to_bits()).collect()));
        }
    }
    let mut v = V::default();
    module.visit(&mut v);
    v.out
}

/// Every float parameter of `module` as values.
pub fn param_values<M: Module>(module: &M) -> Vec<(String, Vec<f32>)> {
    param_bits(module)
        .into_iter()
        .map(|(p, b)| (p, b.into_iter().map(f32::from_bits).collect()))
        .collect()
}
