import { conversationSuite, twilioNetwork } from './conversation-carriers.js';

conversationSuite('twilio', twilioNetwork);
