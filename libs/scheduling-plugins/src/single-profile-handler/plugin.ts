import { definePlugin, RouterError } from '@llmd/scheduling';
import type { ProfileHandler } from '@llmd/scheduling';
import { z } from 'zod';

/** Upstream type name of the single-profile handler. */
export const SINGLE_PROFILE_HANDLER_TYPE = 'single-profile-handler';

// Upstream's scheduler error reaches the client wrapped by the director as
// `ResourceExhausted - failed to find target endpoint: <error>` (429); the handler throws the
// already-wrapped form so the wire message matches.
const NO_TARGET = 'failed to find target endpoint';

/** Runs the one configured profile once and makes it the primary profile. */
export const singleProfileHandler = definePlugin({
  type: SINGLE_PROFILE_HANDLER_TYPE,
  parameters: z.object({}).strict().prefault({}),
  create: (name) =>
    ({
      type: SINGLE_PROFILE_HANDLER_TYPE,
      name,
      // Every profile not yet run: with one profile, that profile on the first call and nothing after.
      pickProfiles: (_ctx, _req, profiles, results) =>
        [...profiles].filter(([profileName]) => !results.has(profileName)).map(([, profile]) => profile),
      processResults: (_ctx, _req, results) => {
        const first = results.entries().next();
        if (results.size !== 1 || first.done === true) {
          throw new RouterError(
            'ResourceExhausted',
            `${NO_TARGET}: single profile handler is intended to be used with a single profile, failed to process multiple profiles`,
          );
        }
        const [profileName, result] = first.value;
        if (result === null || result.targets.length === 0) {
          throw new RouterError('ResourceExhausted', `${NO_TARGET}: failed to run scheduler profile '${profileName}'`);
        }
        return { profileResults: results, primaryProfileName: profileName };
      },
    }) satisfies ProfileHandler,
});
