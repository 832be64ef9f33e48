import type { MetricsScraper } from '@llmd/model-server';
import type { Endpoint } from '@llmd/scheduling';
import type { EndpointDatastore } from './types.js';

/**
 * Keeps `scraper` in step with `datastore`: scrapes every current endpoint and each one added,
 * follows address and engine-label changes, stops scraping removed endpoints, and writes each
 * scrape's metrics back into the datastore. Returns the function that detaches (and stops the
 * loops it started).
 */
export function attachScraper(datastore: EndpointDatastore, scraper: MetricsScraper): () => void {
  const scraped = new Set<string>();
  const start = (endpoint: Endpoint): void => {
    scraper.start(endpoint.metadata, endpoint.metrics);
    scraped.add(endpoint.metadata.id);
  };
  const stopMetrics = scraper.subscribe((id, metrics) => {
    if (scraped.has(id)) datastore.updateMetrics(id, metrics);
  });
  const stopEvents = datastore.subscribe((event) => {
    if (event.type === 'removed') {
      scraper.stop(event.endpoint.metadata.id);
      scraped.delete(event.endpoint.metadata.id);
    } else {
      start(event.endpoint);
    }
  });
  for (const endpoint of datastore.endpoints()) start(endpoint);
  return () => {
    stopEvents();
    stopMetrics();
    for (const id of scraped) scraper.stop(id);
    scraped.clear();
  };
}
