import type { Config } from '../config.js';
import type { ProviderContext, TelephonyProvider } from './provider.js';
import { SimCarrier } from './sim/carrier.js';
import { SimDirectory } from './sim/directory.js';
import { createTelnyxProvider } from './telnyx/provider.js';
import { createTwilioProvider } from './twilio/provider.js';

/** The carrier adapter SWITCHBOARD_PROVIDER names. */
export function createProvider(config: Config, ctx: ProviderContext): TelephonyProvider {
  switch (config.SWITCHBOARD_PROVIDER) {
    case 'sim':
      return new SimCarrier(ctx, SimDirectory.load(config.SWITCHBOARD_SIM_DIRECTORY), config.SWITCHBOARD_SIM_TIME_SCALE);
    case 'twilio':
      return createTwilioProvider(ctx);
    case 'telnyx':
      return createTelnyxProvider(ctx);
  }
}
