"""Activation regions and their exact local linear models (ALGORITHMS.md §1.1–1.2).

A ReLU network is affine on each activation region. For every sample this
module finds its activation pattern (neuron on iff pre-activation > 0), groups
samples with identical patterns into regions, and computes each region's local
linear model (LLM) ``eta(x) = W_r x + b_r`` on the logits.

Scale shapes the design (PERFORMANCE.md): on real tabular data nearly every
sample is its own region (R ≈ N). Nothing here builds an N × R structure; the
work is streamed in chunks of rows, and each chunk goes through one pure
function, :func:`extract_chunk`, giving a :class:`RegionPartial` (per-region
sums keyed by the packed pattern). :func:`merge_partials` combines partials
(sums are a commutative monoid), so a distributed engine can map
``extract_chunk`` over partitions and reduce with ``merge_partials``.
:func:`extract_regions` runs the same chunk work in place: chunks write their
logits, patterns and (when few of their rows repeat a pattern) every row's
local model straight into preallocated per-row arrays, which become the region
table as they are when every region has one sample (R = N, the order is then
the identity); :func:`merge_and_order` merges the few repeats, if any, and
orders the table, copying each field at most once.

For chains (the fast path, ``chain``) each chunk takes one fused pass per
L2-sized row block: forward with pattern capture, packing, neuron counts, the
block's local models and the exactness check, while the block is in cache.

The local model of a pattern is accumulated from the output side,
``W_r = W^(L) D^(L) W^(L-1) ... D^(1) W^(0)``, with the bias alongside
(``b_r += G b^(l)`` at each layer). It depends on the pattern and the weights
only, never on the forward values, so the exactness check
``max |W_r x + b_r - eta(x)|`` against the forward pass is a real check.

Networks with skip connections or concatenation (a
:class:`~govreport.network.PiecewiseLinearGraph`) take the general path
(:class:`TorchGraph`): the pattern is the gates' bits in node order, and the
local model is the adjoint of the logits propagated backwards through the
graph's masked linear maps (affine terms, gate masks, concatenation splits),
again from the pattern and the weights only. Everything after the local models
(grouping, partials, tables) is shared, so every analysis works on both.

Modules: ``forms`` (the network as torch tensors), ``chain`` and ``graph`` (the
two paths' forward and local models), ``partials`` (hashing, exact grouping,
merging, ordering, the result types), ``extract`` (the chunk and data-set
drivers). The public names are re-exported here.
"""

from govreport.regions.chain import local_models
from govreport.regions.extract import DEFAULT_CHUNK_SIZE, extract_chunk, extract_regions
from govreport.regions.forms import (
    AnyTorchNetwork,
    BoolArray,
    Int64Array,
    TorchGraph,
    TorchNetwork,
    UInt8Array,
    UInt64Array,
    torch_network,
)
from govreport.regions.partials import (
    ChunkExtraction,
    RegionExtraction,
    RegionPartial,
    RegionTable,
    group_patterns,
    hash_patterns,
    match_patterns,
    merge_and_order,
    merge_partials,
    order_regions,
    top_region_members,
)

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "AnyTorchNetwork",
    "BoolArray",
    "ChunkExtraction",
    "Int64Array",
    "RegionExtraction",
    "RegionPartial",
    "RegionTable",
    "TorchGraph",
    "TorchNetwork",
    "UInt8Array",
    "UInt64Array",
    "extract_chunk",
    "extract_regions",
    "group_patterns",
    "hash_patterns",
    "local_models",
    "match_patterns",
    "merge_and_order",
    "merge_partials",
    "order_regions",
    "top_region_members",
    "torch_network",
]
