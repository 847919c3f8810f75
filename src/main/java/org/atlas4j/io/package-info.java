/**
 * The file formats every stage reads and writes, and how they reach the disk. {@link org.atlas4j.io.Npy}: NumPy
 * {@code .npy} arrays (writes version 1.0, little-endian, C order, {@code <f4} and {@code <i4}, also streamed row by
 * row through {@code Npy.Writer} for arrays larger than memory; reads {@code <f4 <f8 <i4 <i8 |u1}) — activations,
 * layouts, cell vectors, second moments, attributions and raw attribution maps, so numpy opens them as they are.
 * {@link org.atlas4j.io.Json}: the one Jackson mapper for every JSON file (metadata, stamps, provenance, cell tables):
 * indented for people to read and diff, tolerant of unknown fields. {@link org.atlas4j.io.IdxReader}: IDX files, the
 * MNIST / Fashion-MNIST format, plain or gzipped (told by the magic bytes, not the name).
 * {@link org.atlas4j.io.AtomicFiles}: every output goes to a hidden temporary file in the target's folder, is fsynced
 * and renamed onto the target, so a reader or a killed run never sees half a file.
 * {@link org.atlas4j.io.DataFormatException}: a missing, malformed or truncated data file, said in one line that names
 * the file.
 *
 * <p>Follows: the NPY format specification (NumPy Enhancement Proposal 1); the IDX format of LeCun, Cortes and Burges's
 * MNIST database.
 */
package org.atlas4j.io;
