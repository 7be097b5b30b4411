import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir } from '../binaries.ts';
import { TestbedError } from '../errors.ts';

/** One image a node can import, from testbed/images/images.json. */
export interface NodeImage {
  name: string;
  /** The name containerd knows it by after the import, e.g. registry.k8s.io/pause:3.10.1. */
  ref: string;
  /** Production image names it stands in for (a kustomize overlay maps them). */
  replaces: string[];
  /** ${ROTOR_CACHE_DIR}/images/<name>.oci.tar */
  archive: string;
}

interface CatalogFile {
  images: Record<string, { ref?: string; replaces?: string[]; load?: boolean }>;
}

/** testbed/images/, found upwards from this module (it runs from src/ and from dist/src/). */
export function imagesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'images', 'images.json');
    if (existsSync(candidate)) return dirname(candidate);
    const parent = dirname(dir);
    if (parent === dir) throw new TestbedError('TESTBED_NO_IMAGE', 'testbed/images/images.json not found above the testbed module');
    dir = parent;
  }
}

/** Parses images.json: the images a node loads (load: true), by name. */
export function parseImageCatalog(text: string, archiveDir: string): Map<string, NodeImage> {
  const file = JSON.parse(text) as CatalogFile;
  const images = new Map<string, NodeImage>();
  for (const [name, entry] of Object.entries(file.images)) {
    if (entry.load !== true) continue;
    if (!entry.ref) throw new TestbedError('TESTBED_NO_IMAGE', `testbed/images/images.json: image "${name}" has no ref`);
    images.set(name, { name, ref: entry.ref, replaces: entry.replaces ?? [], archive: join(archiveDir, `${name}.oci.tar`) });
  }
  return images;
}

export function imageCatalog(): Map<string, NodeImage> {
  return parseImageCatalog(readFileSync(join(imagesDir(), 'images.json'), 'utf8'), join(cacheDir(), 'images'));
}

/** The named images, each checked to have its archive; a missing one names the build command. */
export function requireImages(catalog: Map<string, NodeImage>, names: string[]): NodeImage[] {
  return names.map((name) => {
    const image = catalog.get(name);
    if (!image) throw new TestbedError('TESTBED_NO_IMAGE', `no image "${name}" in testbed/images/images.json (known: ${[...catalog.keys()].join(', ')})`);
    if (!existsSync(image.archive)) {
      throw new TestbedError('TESTBED_NO_IMAGE', `image ${name} (${image.ref}) not found at ${image.archive}: run "bash testbed/images/build.sh" (or "bash scripts/setup.sh")`);
    }
    return image;
  });
}
