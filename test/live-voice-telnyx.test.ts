import { liveVoiceSuite } from './live-voice.js';

liveVoiceSuite('telnyx');
