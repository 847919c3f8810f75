/**
 * Models: loading, checking and running networks. {@link org.atlas4j.model.LoadedModel} opens a DL4J model zip (as
 * {@code ModelSerializer.writeModel} saves it), a Keras {@code .h5}, a TensorFlow.js layers model ({@code model.json} +
 * weight shards, through DL4J's Keras importer, {@link org.atlas4j.model.KerasImport}) or an ONNX classifier
 * ({@code .onnx}, read with the ONNX protobuf classes nd4j-api ships and translated by our own
 * {@link org.atlas4j.model.OnnxTranslator}); DL4J networks are translated by
 * {@link org.atlas4j.model.SameDiffConverter}. Every format ends as one inference-mode SameDiff graph with the layer
 * names mapped to its variables ({@link org.atlas4j.model.NetGraph}), plus a content hash for provenance.
 * {@link org.atlas4j.model.ModelCard} reads what a file does not say about itself from {@code <model>.yaml} /
 * {@code .yml} / {@code .json} beside it (input shape, class names, pixel scaling, resize policy, default layer);
 * {@link org.atlas4j.model.ModelChecks} refuses a broken model with one clear line before any work.
 *
 * <p>Engines: {@link org.atlas4j.model.NativeChain} (plain chains) and {@link org.atlas4j.model.NativeGraph} (DAGs with
 * branches, residual adds, concatenations, depthwise convolutions) compile the graph from the input to one layer into
 * prepared libnd4j op calls with buffers allocated once per batch size (the graph checked against SameDiff on a random
 * probe); {@link org.atlas4j.model.GraphCrop} restricts a graph to the receptive field of the layer's centre, exactly.
 * Whatever they do not cover stays on SameDiff, with the reason said. {@link org.atlas4j.model.MemoryBudget} sizes
 * batches to a memory budget ({@code ATLAS_BATCH_MEMORY_MB}, default 1024). The package writes no run files; its only
 * writer is {@code ModelCard.write}, the card beside a model that {@code ./atlas convert} saves.
 */
package org.atlas4j.model;
