//! Burn's optimizer state, re-keyed by parameter path for checkpoints.
//!
//! `ModuleOptimizer::to_record` keys every tensor and scalar by the parameter's [`ParamId`], a
//! random number drawn when the network is built. A resumed run builds a new network with new
//! ids, so the checkpoint stores the state by the parameter's path in the module tree
//! (`Unet.downs.0.block1.ds_conv.weight`) and [`import`] re-keys it with the new ids. The record
//! travels through Burn's own burnpack format (`into_bytes` / `from_bytes`), so nothing here
//! depends on the optimizer's internals: any [`RecordState`](burn::optim::RecordState) works.
//!
//! [`ParamId`]: burn::module::ParamId

use std::collections::{BTreeMap, HashMap};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::{Bytes, DType};
use burn_pack::{Reader, Scalar, Writer};

use crate::ema::param_paths;

/// One state tensor: `(path, leaf, dtype, shape, little-endian bytes)`.
pub(crate) type StateTensor = (String, String, DType, Vec<usize>, Vec<u8>);

/// An optimizer state keyed by parameter path.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct PathKeyedState {
    /// The state tensors (Adam: `momentum.moment_1`, `momentum.moment_2`).
    pub tensors: Vec<StateTensor>,
    /// Per parameter path, its scalar leaves (Adam: `momentum.time`, Burn's `__rank`).
    pub scalars: BTreeMap<String, BTreeMap<String, Scalar>>,
}

/// Split a record name `"<id>.<leaf>"`.
fn split_id(name: &str) -> Option<(u64, &str)> {
    let (id, leaf) = name.split_once('.')?;
    Some((id.parse().ok()?, leaf))
}

/// The state of `optim` for the parameters of `module`, keyed by path.
pub(crate) fn export<M: Module>(
    optim: &ModuleOptimizer,
    module: &M,
) -> Result<PathKeyedState, String> {
    let by_id: HashMap<u64, String> = param_paths(module)
        .into_iter()
        .map(|(path, id)| (id.val(), path))
        .collect();
    let bytes = optim
        .into_bytes()
        .map_err(|e| format!("cannot serialise the optimizer state: {e}"))?;
    let reader = Reader::from_bytes(bytes).map_err(|e| format!("optimizer record: {e}"))?;
    let path_of = |id: u64, what: &str| {
        by_id.get(&id).cloned().ok_or_else(|| {
            format!("the optimizer holds state ({what}) for parameter id {id}, which the network does not have")
        })
    };
    let mut state = PathKeyedState::default();
    for (name, value) in reader.scalars() {
        let (id, leaf) =
            split_id(name).ok_or_else(|| format!("unexpected optimizer scalar `{name}`"))?;
        state
            .scalars
            .entry(path_of(id, name)?)
            .or_default()
            .insert(leaf.to_string(), *value);
    }
    let tensors = reader
        .into_tensors()
        .map_err(|e| format!("optimizer record: {e}"))?;
    for t in tensors {
        let (name, dtype, shape, param_id, data) = t
            .into_parts()
            .map_err(|e| format!("optimizer record: {e}"))?;
        let (id, leaf) =
            split_id(&name).ok_or_else(|| format!("unexpected optimizer tensor `{name}`"))?;
        if param_id.is_some_and(|p| p != id) {
            return Err(format!(
                "optimizer tensor `{name}` carries parameter id {param_id:?}"
            ));
        }
        state.tensors.push((
            path_of(id, &name)?,
            leaf.to_string(),
            dtype,
            shape.iter().copied().collect(),
            data.to_vec(),
        ));
    }
    state
        .tensors
        .sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    Ok(state)
}

/// Load `state` into `optim` for the parameters of `module` (matched by path).
pub(crate) fn import<M: Module>(
    state: PathKeyedState,
    optim: ModuleOptimizer,
    module: &M,
) -> Result<ModuleOptimizer, String> {
    let by_path: HashMap<String, u64> = param_paths(module)
        .into_iter()
        .map(|(path, id)| (path, id.val()))
        .collect();
    let id_of = |path: &str| {
        by_path.get(path).copied().ok_or_else(|| {
            format!(
                "the checkpoint holds optimizer state for `{path}`, which the network does not have"
            )
        })
    };
    let mut tensors = Vec::with_capacity(state.tensors.len());
    let mut paths = BTreeMap::new();
    for (path, leaf, dtype, shape, data) in state.tensors {
        let id = id_of(&path)?;
        paths.insert(id.to_string(), path.clone());
        tensors.push(burn_pack::Tensor::new(
            format!("{id}.{leaf}"),
            dtype,
            shape,
            Some(id),
            Bytes::from_bytes_vec(data),
        ));
    }
    let mut writer = Writer::new(tensors);
    for (path, leaves) in &state.scalars {
        let id = id_of(path)?;
        paths.insert(id.to_string(), path.clone());
        for (leaf, value) in leaves {
            writer = writer.with_scalar(&format!("{id}.{leaf}"), *value);
        }
    }
    for (id, path) in &paths {
        writer = writer.with_metadata(id, path);
    }
    let bytes = writer
        .into_bytes()
        .map_err(|e| format!("cannot rebuild the optimizer record: {e}"))?;
    optim
        .from_bytes(bytes)
        .map_err(|e| format!("cannot load the optimizer record: {e}"))
}
