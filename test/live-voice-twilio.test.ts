import { liveVoiceSuite } from './live-voice.js';

liveVoiceSuite('twilio');
