/**
 * Facets for a post's text: links, mentions and hashtags, as `app.bsky.richtext.facet`
 * annotations over UTF-8 byte ranges. Detection is `RichText` from `@atproto/api` (the same
 * rules as the Bluesky app); mention handles are resolved to DIDs through the caller's
 * resolver, and a mention whose handle does not resolve stays plain text. A resolver failure
 * (timeout, server error) is thrown rather than swallowed: publishing then fails and is retried,
 * instead of quietly posting a mention that links nowhere.
 */
import { AppBskyRichtextFacet, RichText } from '@atproto/api';

/** The DID for a handle, or null when the handle does not resolve. */
export type HandleResolver = (handle: string) => Promise<string | null>;

export type Facet = AppBskyRichtextFacet.Main;

export async function detectFacets(text: string, resolveHandle: HandleResolver): Promise<Facet[] | undefined> {
  const rt = new RichText({ text });
  rt.detectFacetsWithoutResolution();
  const detected = rt.facets ?? [];

  // Before resolution a mention feature holds the handle in its `did` field.
  const handles = new Set<string>();
  for (const facet of detected) {
    for (const feature of facet.features) {
      if (AppBskyRichtextFacet.isMention(feature)) handles.add(feature.did.toLowerCase());
    }
  }
  const dids = new Map<string, string | null>();
  for (const handle of handles) dids.set(handle, await resolveHandle(handle));

  const facets: Facet[] = [];
  for (const facet of detected) {
    const features: Facet['features'] = [];
    for (const feature of facet.features) {
      if (AppBskyRichtextFacet.isMention(feature)) {
        const did = dids.get(feature.did.toLowerCase());
        if (did) features.push({ $type: 'app.bsky.richtext.facet#mention', did });
      } else {
        features.push(feature);
      }
    }
    if (features.length > 0) facets.push({ ...facet, $type: 'app.bsky.richtext.facet', features });
  }
  return facets.length > 0 ? facets : undefined;
}
