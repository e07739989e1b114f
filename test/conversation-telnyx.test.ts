import { conversationSuite, telnyxNetwork } from './conversation-carriers.js';

conversationSuite('telnyx', telnyxNetwork);
