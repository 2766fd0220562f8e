// Which container images the stand-in runs as real processes.

/** The demo app's image name: `weir-demo:<tag>` (any registry prefix). */
export const DEMO_IMAGE_NAME = 'weir-demo';

export interface ImageRef {
  name: string;
  tag: string;
}

export function parseImage(image: string): ImageRef {
  const withoutDigest = image.split('@')[0] ?? image;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  const hasTag = colon > lastSlash;
  const path = hasTag ? withoutDigest.slice(0, colon) : withoutDigest;
  const tag = hasTag ? withoutDigest.slice(colon + 1) : 'latest';
  return { name: path.slice(path.lastIndexOf('/') + 1), tag };
}

export function isDemoImage(image: string): boolean {
  return parseImage(image).name === DEMO_IMAGE_NAME;
}
