import type { Config } from '../config.js';
import type { ProviderContext, TelephonyProvider } from './provider.js';
import { SimCarrier } from './sim/carrier.js';
import { SimDirectory } from './sim/directory.js';

/** The carrier adapter SWITCHBOARD_PROVIDER names. Real carriers' SDKs load only when chosen, keeping start-up fast. */
export async function createProvider(config: Config, ctx: ProviderContext): Promise<TelephonyProvider> {
  switch (config.SWITCHBOARD_PROVIDER) {
    case 'sim':
      return new SimCarrier(ctx, SimDirectory.load(config.SWITCHBOARD_SIM_DIRECTORY), config.SWITCHBOARD_SIM_TIME_SCALE);
    case 'twilio':
      return (await import('./twilio/provider.js')).createTwilioProvider(ctx);
    case 'telnyx':
      return (await import('./telnyx/provider.js')).createTelnyxProvider(ctx);
  }
}
