/**
 * What a run records about itself: {@code provenance.json} in every run folder ({@link Provenance}: the run's name and
 * config, seed, model file with its SHA-256 and layer, library versions, and one {@link StageRecord} per stage with
 * its measurements, duration and finish time), and the {@link Versions} an explanation also records. Reads and writes
 * JSON with Jackson; the atlas4j version is the build's (Maven filters it into build.properties). Sits below
 * {@code run} and {@code attribution}, which both record provenance, and imports neither.
 */
package org.atlas4j.provenance;
