"""Word lists and templates for the generated parts of the chapter 4 corpus.

Used only by ``tools/build_corpus.py``; the corpus itself ships as package data.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------------------
# books: short children's stories in the spirit of TinyStories (Eldan & Li 2023)
# ---------------------------------------------------------------------------------------

NAMES = [
    ("Pip", "he"),
    ("Mira", "she"),
    ("Tom", "he"),
    ("Lila", "she"),
    ("Ben", "he"),
    ("Nora", "she"),
    ("Sam", "he"),
    ("Ada", "she"),
    ("Leo", "he"),
    ("Ivy", "she"),
    ("Max", "he"),
    ("Zoe", "she"),
    ("Finn", "he"),
    ("Ruby", "she"),
    ("Otto", "he"),
    ("Maya", "she"),
    ("Jack", "he"),
    ("Elsa", "she"),
    ("Theo", "he"),
    ("Rosa", "she"),
    ("Hugo", "he"),
    ("Lucy", "she"),
    ("Felix", "he"),
    ("Daisy", "she"),
    ("Oscar", "he"),
    ("Hazel", "she"),
    ("Milo", "he"),
    ("Clara", "she"),
    ("Rufus", "he"),
    ("Poppy", "she"),
    ("Arlo", "he"),
    ("Wren", "she"),
    ("Basil", "he"),
    ("Fern", "she"),
    ("Jasper", "he"),
    ("Olive", "she"),
    ("Toby", "he"),
    ("Iris", "she"),
    ("Gus", "he"),
    ("Bea", "she"),
]
ANIMALS = [
    "fox",
    "rabbit",
    "mouse",
    "bear",
    "owl",
    "duck",
    "hedgehog",
    "squirrel",
    "frog",
    "kitten",
    "puppy",
    "badger",
    "otter",
    "goat",
    "lamb",
    "turtle",
    "robin",
    "deer",
    "beaver",
    "penguin",
    "pony",
    "mole",
    "raccoon",
    "little girl",
    "little boy",
]
ADJECTIVES = [
    "curious",
    "shy",
    "brave",
    "clever",
    "cheerful",
    "sleepy",
    "kind",
    "busy",
    "gentle",
    "tiny",
    "proud",
    "friendly",
    "careful",
    "playful",
    "quiet",
    "happy",
]
PLACES = [
    "a small village by the sea",
    "a green valley",
    "a big old forest",
    "a town with red roofs",
    "a farm near the hills",
    "a cottage at the edge of the woods",
    "a busy city",
    "a quiet meadow",
    "a house next to a river",
    "a garden full of flowers",
    "a snowy mountain village",
    "a little island",
    "a park in the middle of town",
    "a warm sunny field",
    "a tall apartment building",
    "a boat on a wide lake",
]
HOBBIES = [
    "drawing pictures",
    "singing songs",
    "collecting shiny stones",
    "baking cakes",
    "reading books",
    "building towers of blocks",
    "watching the clouds",
    "picking berries",
    "playing with a red ball",
    "counting the stars",
    "splashing in puddles",
    "planting seeds",
    "dancing in the rain",
    "telling jokes",
    "flying a kite",
    "making paper boats",
]
OBJECTS = [
    ("ball", "red"),
    ("hat", "blue"),
    ("kite", "yellow"),
    ("book", "old"),
    ("scarf", "green"),
    ("teddy bear", "soft"),
    ("shell", "pink"),
    ("drum", "little"),
    ("boat", "wooden"),
    ("key", "golden"),
    ("lamp", "small"),
    ("basket", "round"),
    ("bell", "silver"),
    ("crayon", "purple"),
    ("cup", "white"),
    ("whistle", "shiny"),
]
SPOTS = [
    "the bed",
    "the big tree",
    "the table",
    "the garden gate",
    "the old barn",
    "the sofa",
    "the flower pots",
    "the bridge",
    "the bushes",
    "the kitchen door",
    "the stairs",
    "the pile of leaves",
]
FOODS = [
    "apples",
    "honey",
    "carrots",
    "warm bread",
    "soup",
    "berries",
    "cookies",
    "pancakes",
    "cheese",
    "nuts",
    "pie",
    "porridge",
]
MORALS = [
    "it is good to ask friends for help",
    "being patient pays off",
    "sharing makes everyone happy",
    "it is okay to feel afraid, and brave to try anyway",
    "kind words can fix a bad day",
    "working together makes hard jobs easy",
    "telling the truth is always the right choice",
    "small helpers can do big things",
    "saying sorry makes a friendship stronger",
    "trying again is how you learn",
]

# Each plot is a list of paragraphs; {name}, {he}, {his}, {him}, {friend}, {object}, ...
# are filled in by the builder.
PLOTS = [
    [
        "One morning, {name} could not find {his} {color} {object}. {He} looked under "
        "{spot1} and behind {spot2}, but the {object} was not there.",
        '{name} felt sad. "Where can it be?" {he} asked. {friend}, {his} friend the '
        '{friend_animal}, came to help. "Let us think," said {friend}. "Where did you play '
        'yesterday?"',
        "{name} remembered that {he} had played near {spot3}. They went there together, and "
        "there it was, a little dusty but safe. {name} laughed and hugged {friend}.",
    ],
    [
        "One day, dark clouds filled the sky and a big storm came. The wind blew hard and the "
        "rain fell all night. In the morning, the path to {friend}'s house was full of mud "
        "and fallen branches.",
        "{name} wanted to visit {friend}, but the path was blocked. {He} tried to climb over "
        "the branches, but they were too big. {He} sat down and thought.",
        "Then {he} had an idea. {He} asked the other animals to help, and together they moved "
        "the branches one by one. When the path was clear, everyone went to {friend}'s house "
        "and ate {food} together.",
    ],
    [
        "{name} wanted to bake a cake for {friend}'s birthday. {He} had never baked a cake "
        "before. {He} mixed flour, eggs and milk in a big bowl, but {he} forgot the sugar.",
        'The cake came out flat and did not taste sweet. "Oh no," said {name}. "Now I have '
        'no present." {He} was about to cry.',
        "Then {he} decided to try again. This time {he} read the recipe slowly and did every "
        "step with care. The second cake was soft and sweet. {friend} smiled and said it was "
        "the best cake in the whole world.",
    ],
    [
        "{name} was afraid of the dark. Every night, {he} asked {his} mother to leave the "
        "{color} lamp on. Shadows on the wall looked like monsters to {him}.",
        "One night, the lamp stopped working. {name} hid under the blanket. Then {he} heard "
        'a soft voice. It was {friend}. "Look outside," said {friend}. "The sky is full of '
        'stars."',
        "{name} looked out of the window. The moon was bright and the stars were shining. "
        "The dark was not scary at all. It was beautiful. After that night, {name} liked to "
        "watch the stars before going to sleep.",
    ],
    [
        "{name} and {friend} both wanted to play with the {color} {object}. {name} pulled it "
        "one way and {friend} pulled it the other way. They started to shout at each other.",
        "Soon they were both unhappy. Nobody was playing, and the {object} just lay on the "
        "ground. {name} felt bad about shouting.",
        '"I am sorry," said {name}. "Let us take turns." {friend} smiled and said sorry too. '
        "They took turns all afternoon, and it was more fun than playing alone.",
    ],
    [
        "{name} found a small bird on the ground near {spot1}. The bird had a hurt wing and "
        "could not fly. It was cold and scared.",
        "{name} gently picked up the bird and carried it home. {He} made a soft bed for it in "
        "a {color} basket and gave it water and seeds. {friend} came every day to help.",
        "After many days, the wing was strong again. {name} and {friend} took the bird "
        "outside. It flapped its wings and flew up into the sky. It sang a happy song, as if "
        "to say thank you.",
    ],
    [
        "{name} wanted to win the big race in the park. {He} practised every day, running up "
        "the hill and back again. {friend} was running in the race too.",
        "On the day of the race, {name} ran very fast. But near the end, {he} saw that "
        "{friend} had fallen down and hurt a knee.",
        "{name} stopped running and helped {friend} get up. They walked to the finish line "
        "together. They did not win, but everyone clapped for them. {name} felt prouder than "
        "if {he} had won.",
    ],
    [
        "{name} had a little garden. {He} planted some seeds in the soil and watered them. "
        "The next morning, {he} ran outside, but nothing had grown.",
        '"Why are there no flowers?" {he} asked. {friend} laughed kindly. "Seeds need time," '
        'said {friend}. "You must water them and wait."',
        "So {name} waited. Every day {he} gave the seeds water. After many days, small green "
        "leaves came up, and then big bright flowers. {name} picked one and gave it to "
        "{friend}.",
    ],
    [
        "{name} broke {his} mother's {color} cup by accident. {He} was scared and hid the "
        "pieces behind {spot1}.",
        "All day, {name} felt a heavy feeling in {his} tummy. {He} did not want to play or "
        "eat {food}. {friend} asked what was wrong.",
        '{name} told {friend} everything. "You should tell the truth," said {friend}. So '
        "{name} went to {his} mother and said sorry. {His} mother gave {him} a big hug and "
        "said that telling the truth was very brave.",
    ],
    [
        "A new {friend_animal} named {friend} came to live in {place}. {friend} did not know "
        "anyone and sat alone every day.",
        "{name} saw that {friend} looked lonely. {He} walked over and said hello. At first, "
        "{friend} was very shy and did not say much.",
        "{name} showed {friend} how {he} liked {hobby}. Soon they were laughing together. "
        "From then on, they played together every day, and {friend} was not lonely any more.",
    ],
    [
        "{name} and {friend} went on a picnic by the river. They packed {food} and a "
        "{color} blanket. The sun was warm and the water was sparkling.",
        "Suddenly a gust of wind blew the blanket into the river. It floated away slowly. "
        "{name} wanted to jump in, but the water was deep.",
        "{friend} found a long stick. Together they reached out and pulled the blanket back "
        "to the shore. It was wet, so they hung it on a branch to dry and ate their picnic "
        "on the grass.",
    ],
    [
        "{name} wanted to reach the apples at the top of the tall tree. {He} jumped and "
        "jumped, but {he} was too small.",
        "{He} tried climbing, but the trunk was smooth and {he} slid down. {He} felt cross "
        "and kicked a stone.",
        "Then {friend} came by. {friend} was tall but could not climb, and {name} was small "
        "but light. {name} stood on {friend}'s back and picked the apples. They shared them "
        "and agreed that two friends can do more than one.",
    ],
]

# ---------------------------------------------------------------------------------------
# conversations: forum threads, each a question and the replies it got
# ---------------------------------------------------------------------------------------

USERNAMES = [
    "maria_k",
    "tinkerer42",
    "quietfern",
    "blue_heron",
    "dan_the_baker",
    "ollie.p",
    "sunnyside",
    "grace_h",
    "kettle_on",
    "marco88",
    "paperplane",
    "wanderlust_jo",
    "fixit_fred",
    "amira",
    "rustybike",
    "lena.w",
    "thecuriouscat",
    "pat_m",
    "northwind",
    "hobbit_feet",
    "nadia_r",
    "code_monkey",
    "evergreen",
    "jules",
    "mossy_rock",
    "kim_t",
]

# topic: (title variants, opening details, answers, follow-ups)
FORUM_TOPICS = {
    "sourdough": (
        ["Why is my sourdough bread so dense?", "Sourdough loaf not rising, any tips?"],
        [
            "I have been baking for a month and every loaf comes out flat and heavy.",
            "My starter bubbles nicely, but the bread itself barely rises in the oven.",
        ],
        [
            "The most common cause is a starter that is not quite ready. Feed it and use it "
            "when it has doubled in size, usually four to eight hours after feeding.",
            "Check the temperature of your kitchen. Dough rises much more slowly below about "
            "twenty degrees, so a cold room can make the bulk fermentation take twice as long.",
            "Try a slightly wetter dough and do a few sets of stretch and folds during the "
            "first two hours. That builds the gluten that traps the gas.",
            "Do not cut the loaf while it is hot. The crumb is still setting, and it will "
            "look gummy and dense even when the bake went well.",
            "A baking stone or a heavy pot with a lid makes a big difference, because the "
            "steam keeps the crust soft long enough for the loaf to spring up.",
        ],
        [
            "Thanks, I will try feeding the starter earlier tomorrow.",
            "My kitchen is quite cold, that might be it.",
        ],
    ),
    "bike": (
        ["Bike chain keeps slipping when I pedal hard", "Chain skips on my commuter bike"],
        [
            "It happens mostly when I climb a hill or start from a traffic light.",
            "The bike is about five years old and I ride it to work every day.",
        ],
        [
            "A chain that skips under load is usually worn. Measure it with a chain checker; "
            "if it has stretched more than half a percent, replace it.",
            "If you replace a worn chain, check the rear cassette too. Old teeth are shaped "
            "to the old chain, and a new chain may skip on them.",
            "Sometimes the gear cable has simply stretched. Turn the barrel adjuster a "
            "quarter turn at a time until the chain sits quietly on each cog.",
            "Clean and oil the chain first. A dirty chain with stiff links can jump even "
            "when nothing is worn.",
            "Make sure the rear wheel is seated straight in the frame. A crooked wheel puts "
            "the chain at an angle and it can slip.",
        ],
        [
            "I measured it and it is very stretched. New chain ordered!",
            "The barrel adjuster fixed it, thank you so much.",
        ],
    ),
    "tomatoes": (
        ["Tomato leaves turning yellow from the bottom", "What is wrong with my tomato plants?"],
        [
            "The lower leaves went yellow and now some have brown spots.",
            "They are growing in pots on a sunny balcony.",
        ],
        [
            "Yellow lower leaves are often just old leaves the plant no longer needs, but "
            "brown spots suggest early blight. Remove the affected leaves and throw them away.",
            "Water the soil, not the leaves, and water in the morning so the plant dries "
            "before night. Fungus loves wet leaves.",
            "Plants in pots run out of nutrients quickly. A feed for tomatoes once a week "
            "during fruiting helps a lot.",
            "Give the plants space so air can move between them. Crowded plants stay damp "
            "and get sick more easily.",
            "Uneven watering can also stress the plant. Try to keep the soil evenly moist "
            "rather than letting it dry out completely and then soaking it.",
        ],
        [
            "I have been watering the leaves in the evening, so that is probably it.",
            "I will start feeding them, I did not know pots need that.",
        ],
    ),
    "python_lists": (
        [
            "Why does changing one list change the other in Python?",
            "Python list copy behaves strangely",
        ],
        [
            "I wrote b = a and then appended to b, and now a has the new item too.",
            "I am new to programming and this confused me for an hour.",
        ],
        [
            "Assignment in Python does not copy anything. After b = a, both names refer to "
            "the same list object, so a change through one name is visible through the other.",
            "To get a separate list, make a copy: b = a.copy() or b = list(a). For nested "
            "lists you may need copy.deepcopy, because a shallow copy shares the inner lists.",
            "You can check whether two names point to the same object with the is operator. "
            "If a is b is true, they are the same list.",
            "This is the same reason a mutable default argument surprises people: the default "
            "list is created once and shared between calls.",
        ],
        ["That makes sense now, thank you for explaining.", "So a.copy() it is. Thanks everyone!"],
    ),
    "sleep": (
        ["How do you fall asleep when your mind will not stop?", "Trouble falling asleep"],
        [
            "I lie awake for an hour every night thinking about work.",
            "I am tired all day but at night I cannot switch off.",
        ],
        [
            "Keep the same wake-up time every day, even at weekends. A regular morning is "
            "the strongest signal your body clock gets.",
            "Try writing down tomorrow's tasks before bed. Getting them on paper tells your "
            "brain it does not need to keep holding on to them.",
            "Avoid screens for the last half hour and keep the bedroom cool and dark.",
            "If you are still awake after twenty minutes, get up and read something dull in "
            "dim light, then go back to bed when you feel sleepy.",
            "Cut caffeine after lunch. It stays in the body for many hours.",
        ],
        [
            "The notebook idea sounds good, I will try it tonight.",
            "I do drink coffee late in the afternoon, I will stop that.",
        ],
    ),
    "hiking": (
        ["First multi-day hike, what should I pack?", "Packing list for a three-day hike"],
        [
            "We are planning three days in the mountains with two nights in huts.",
            "I have done day hikes but never carried everything for several days.",
        ],
        [
            "Start with the essentials: map and compass, a warm layer, a waterproof jacket, "
            "a head torch, a small first aid kit and enough water.",
            "Keep the pack light. Lay everything out at home and remove anything you are "
            "not sure you will use. Every extra kilogram hurts on the second day.",
            "Break in your boots before the trip. New boots and long days are the quickest "
            "way to get blisters.",
            "Check the weather forecast each morning and agree on a turning-back time. The "
            "mountains will still be there next year.",
            "Pack food that is light and full of energy, like nuts, oats and dried fruit.",
        ],
        [
            "Great list, I had forgotten about a head torch.",
            "My boots are new, so I will wear them around town this week.",
        ],
    ),
    "cat": (
        ["My cat scratches the sofa, how do I stop it?", "Cat keeps scratching furniture"],
        [
            "She is two years old and has a scratching post, but she ignores it.",
            "We just bought a new sofa and it is already damaged.",
        ],
        [
            "Scratching is normal and cats need to do it. The trick is to offer something "
            "they like more than the sofa.",
            "Many cats prefer a tall, heavy post that does not wobble. Put it right next to "
            "the spot she scratches now.",
            "Rub a little catnip on the post and praise her when she uses it.",
            "Cover the sofa corner with a blanket or double-sided tape for a few weeks, "
            "until the new habit is formed.",
            "Trimming the claws every couple of weeks reduces the damage a lot.",
        ],
        [
            "Her post is quite short and wobbly, that might explain it.",
            "The catnip worked straight away, thank you!",
        ],
    ),
    "spreadsheet": (
        [
            "How do I count cells that match two conditions?",
            "Spreadsheet formula for counting with two criteria",
        ],
        [
            "I have a list of orders and want to count those from March that are over fifty.",
            "I tried nesting two formulas but got an error.",
        ],
        [
            "Use COUNTIFS, which takes pairs of a range and a condition. Each extra pair adds "
            "another condition that must also be true.",
            "Make sure your dates are real dates and not text. A date stored as text will "
            "not match a date condition.",
            "For conditions on the same column, such as between two dates, repeat the column "
            "with two conditions, one for the start and one for the end.",
            "If you need an or instead of an and, add two COUNTIFS together, as long as the "
            "two groups cannot overlap.",
        ],
        [
            "COUNTIFS did it, and my dates were indeed stored as text.",
            "Thanks, I did not know you could repeat the same column.",
        ],
    ),
    "language": (
        ["Best way to learn a language as an adult?", "Learning Spanish at forty, any advice?"],
        [
            "I have tried apps but I forget everything after a few weeks.",
            "I want to be able to talk with my partner's family.",
        ],
        [
            "Speak from the first week, even badly. Talking with real people makes words "
            "stick in a way that apps cannot.",
            "Little and often beats long and rare. Twenty minutes a day is better than three "
            "hours on a Sunday.",
            "Use spaced repetition for vocabulary. Reviewing a word just before you forget "
            "it is the most efficient way to remember it.",
            "Listen to slow podcasts or watch children's shows. The language is simple and "
            "the pictures help you guess.",
            "Do not worry about mistakes. Everyone makes them, and people are happy that "
            "you are trying.",
        ],
        [
            "I will find a conversation partner, that sounds like the missing piece.",
            "Spaced repetition is new to me, I will look into it.",
        ],
    ),
    "houseplants": (
        ["Why do my houseplants keep dying?", "Indoor plants dying after a few weeks"],
        [
            "I water them every day and they still droop and die.",
            "The flat does not get much light, especially in winter.",
        ],
        [
            "Watering every day is probably the problem. Most houseplants die from too much "
            "water, which rots the roots. Water only when the top of the soil feels dry.",
            "Check that every pot has a drainage hole. Water that collects at the bottom "
            "drowns the roots.",
            "In a dark flat, choose plants that cope with low light, such as snake plants, "
            "pothos or a peace lily.",
            "Move plants closer to the window in winter, but not right next to a radiator.",
        ],
        [
            "I had no idea you could water too much. I will stop!",
            "None of my pots have holes, that explains a lot.",
        ],
    ),
    "running": (
        ["Knee pain after starting to run", "Sore knees, new runner"],
        [
            "I started running three weeks ago and now my knees hurt after each run.",
            "I run about five kilometres every day.",
        ],
        [
            "Running every day as a beginner is a lot. Your muscles adapt quickly but your "
            "joints and tendons need more time. Try running every other day.",
            "Increase your weekly distance slowly, by about ten percent a week at most.",
            "Take shorter steps. Landing with your foot far in front of your body puts more "
            "stress on the knee.",
            "Strength exercises for the hips and thighs, like squats and lunges, help the "
            "knees a lot.",
            "If the pain is sharp or does not go away with rest, see a doctor or a "
            "physiotherapist.",
        ],
        [
            "Every other day it is. Thanks for the advice.",
            "I will try shorter steps on my next run.",
        ],
    ),
    "git": (
        ["How do I undo my last commit?", "Undo a git commit that I have not pushed"],
        [
            "I committed the wrong file and have not pushed yet.",
            "I want to keep my changes but remove the commit.",
        ],
        [
            "If you have not pushed, git reset --soft HEAD~1 removes the commit and keeps "
            "your changes staged, so you can fix them and commit again.",
            "If you only need to change the last commit, git commit --amend lets you add or "
            "remove files and edit the message.",
            "If the commit is already pushed and others may have it, use git revert instead. "
            "It adds a new commit that undoes the old one, without rewriting history.",
            "Before anything drastic, note the commit hash with git log. Nothing is lost "
            "while you know the hash, and git reflog remembers it for a while as well.",
        ],
        [
            "The soft reset was exactly what I needed.",
            "Good to know about revert for pushed commits.",
        ],
    ),
}

FORUM_OPENERS = ["Hi all,", "Hello everyone.", "Hi,", "Quick question.", "Hey folks,", ""]
FORUM_REPLY_OPENERS = [
    "",
    "I had the same problem.",
    "Good question.",
    "A few things to check.",
    "This happened to me last year.",
    "Welcome to the forum!",
]
FORUM_CLOSERS = ["Hope that helps.", "Good luck!", "Let us know how it goes.", ""]

# ---------------------------------------------------------------------------------------
# web_crawl: pages with the boilerplate a crawler picks up around the text
# ---------------------------------------------------------------------------------------

SITE_NAMES = [
    "The Daily Kettle",
    "Greenway Gazette",
    "HomeCook Hub",
    "Trail & Tide",
    "Maple Street News",
    "Budget Traveller",
    "The Handy Home",
    "Riverside Review",
    "Pocket Recipes",
    "Town Crier",
]
NAV_LINES = [
    "Home | News | Recipes | Travel | About | Contact",
    "Home > Blog > Latest",
    "Menu",
    "Skip to content",
    "Search",
    "Sign in | Register",
]
POLICY_LINES = [
    "This site uses cookies to improve your experience. By continuing you agree to our "
    "cookie policy.",
    "We use cookies to personalise content. Read our privacy policy to learn more.",
    "By using this website you accept our terms of use.",
]
JAVASCRIPT_LINES = [
    "Please enable JavaScript to view the comments.",
    "You need to enable JavaScript to run this app.",
]
FOOTER_LINES = [
    "Share this: Facebook Twitter Email",
    "Subscribe to our newsletter",
    "All rights reserved",
    "Related posts",
    "Leave a comment",
    "Back to top",
]

TOWNS = [
    "Ashford",
    "Brookfield",
    "Cedar Falls",
    "Dunmore",
    "Elmstead",
    "Fairhaven",
    "Glenwood",
    "Harrow Hill",
    "Ivybridge",
    "Kingsport",
    "Lindale",
    "Millbrook",
    "Northgate",
    "Oakridge",
    "Pinecrest",
    "Redwater",
    "Stonebridge",
    "Thornbury",
    "Westfield",
    "Yarrow",
]
NEWS_EVENTS = [
    (
        "{town} opens new public library",
        "The new library in {town} opened its doors on {day}. The building has space for "
        "{n1} thousand books, a children's corner and a room where local groups can meet. "
        "The old library, which served the town for {n2} years, had become too small. "
        '"People kept asking for a quiet place to study," said the head librarian. '
        '"Now we have one." The library is open six days a week, and membership is free '
        "for everyone who lives in the area. Volunteers are still needed to help with a "
        "weekly reading club for young children.",
    ),
    (
        "{town} council approves new cycle lanes",
        "The council of {town} voted on {day} to build {n3} kilometres of protected cycle "
        "lanes through the town centre. Supporters said the lanes will make cycling safer "
        "for children on their way to school. Some shop owners worried that fewer parking "
        "spaces would mean fewer customers, and the council agreed to review the plan after "
        "one year. Work is expected to begin in the spring and to take about {n4} months. "
        "Residents can see the full plans at the town hall.",
    ),
    (
        "Flood defences tested after heavy rain in {town}",
        "Heavy rain over the weekend pushed the river in {town} to its highest level in "
        "{n2} years. The new flood walls, finished last autumn, held the water back, and no "
        'homes were flooded. "Three years ago this street was under water," said one '
        'resident. "This time we slept through the night." Engineers will inspect the '
        "walls this week. The council asked people to keep drains clear of leaves, which "
        "can block the water and cause local flooding.",
    ),
    (
        "Students from {town} win national science prize",
        "A team of {n5} students from {town} High School won first prize at the national "
        "science fair on {day}. Their project measured air quality near the school using "
        "small sensors they built themselves. They found that pollution was highest in the "
        "morning, when parents drive children to school. The team has shared its results "
        "with the council and suggested closing the street to cars for half an hour each "
        "morning. Their teacher said she was proud of how carefully they checked their "
        "measurements.",
    ),
    (
        "Farmers market returns to {town} square",
        "The weekly farmers market returned to {town} square on {day} after a winter break. "
        "More than {n6} stalls sold vegetables, cheese, bread and flowers from farms in the "
        "surrounding area. Organisers said the market helps small farmers earn a fair price "
        "and gives shoppers fresh food that has not travelled far. The market runs every "
        "Saturday morning until the end of October, and new stall holders are welcome to "
        "apply.",
    ),
    (
        "Old mill in {town} to become community centre",
        "The old flour mill in {town}, empty for {n2} years, will be turned into a community "
        "centre. The plan includes a cafe, workshops for local makers and a small museum "
        "about the history of the mill. The building will keep its stone walls and its "
        "water wheel, which volunteers hope to repair. The project is paid for by a grant "
        "and by donations from residents, who raised more than {n1} thousand pounds in six "
        "months.",
    ),
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

RECIPES = [
    (
        "Simple tomato soup",
        [
            "tomatoes",
            "an onion",
            "two cloves of garlic",
            "vegetable stock",
            "olive oil",
            "salt and pepper",
        ],
        [
            "Chop the onion and garlic and cook them gently in olive oil until soft.",
            "Add the chopped tomatoes and the stock and bring everything to a simmer.",
            "Cook for twenty minutes, then blend until smooth.",
            "Season with salt and pepper and serve with warm bread.",
        ],
    ),
    (
        "Banana pancakes",
        [
            "two ripe bananas",
            "two eggs",
            "a cup of flour",
            "a cup of milk",
            "a pinch of salt",
            "butter for the pan",
        ],
        [
            "Mash the bananas in a bowl until smooth.",
            "Whisk in the eggs, then the milk, and finally the flour and salt.",
            "Melt a little butter in a pan over medium heat.",
            "Pour in small circles of batter and cook until bubbles appear, then flip.",
            "Serve warm with honey or fresh fruit.",
        ],
    ),
    (
        "Lemon rice",
        [
            "a cup of rice",
            "one lemon",
            "a handful of peanuts",
            "mustard seeds",
            "a few curry leaves",
            "salt",
        ],
        [
            "Cook the rice and let it cool a little.",
            "Fry the mustard seeds, curry leaves and peanuts in a little oil until they crackle.",
            "Stir in the rice and the juice of the lemon.",
            "Season with salt and serve warm or cold.",
        ],
    ),
    (
        "Vegetable stir fry",
        [
            "a pepper",
            "a carrot",
            "a handful of green beans",
            "soy sauce",
            "fresh ginger",
            "noodles or rice",
        ],
        [
            "Cut all the vegetables into thin strips so they cook quickly.",
            "Heat a wok or large pan until it is very hot and add a little oil.",
            "Fry the ginger for a few seconds, then add the vegetables.",
            "Keep everything moving for three or four minutes, then add the soy sauce.",
            "Serve straight away over noodles or rice.",
        ],
    ),
    (
        "Oat cookies",
        [
            "a cup of oats",
            "half a cup of flour",
            "half a cup of sugar",
            "half a cup of butter",
            "one egg",
            "a handful of raisins",
        ],
        [
            "Heat the oven and line a tray with baking paper.",
            "Beat the butter and sugar together, then beat in the egg.",
            "Stir in the oats, flour and raisins.",
            "Place spoonfuls of dough on the tray, leaving space between them.",
            "Bake for twelve minutes, until golden at the edges, and let them cool on the tray.",
        ],
    ),
    (
        "Lentil stew",
        [
            "a cup of red lentils",
            "an onion",
            "a carrot",
            "a tin of tomatoes",
            "cumin",
            "vegetable stock",
        ],
        [
            "Soften the chopped onion and carrot in a large pot.",
            "Add the cumin and cook for a minute until it smells toasty.",
            "Add the lentils, tomatoes and stock and simmer for twenty five minutes.",
            "Stir now and then and add water if the stew gets too thick.",
            "Season well and serve with rice or bread.",
        ],
    ),
]
RECIPE_INTROS = [
    "This is one of those recipes I come back to every week. It is cheap, quick and "
    "everyone in the family likes it.",
    "My grandmother used to make this on cold evenings, and the smell still takes me back "
    "to her kitchen.",
    "If you are short on time, this dish is ready in about half an hour and uses things "
    "you probably already have.",
    "I first tried this at a friend's house and asked for the recipe before I had finished "
    "my plate.",
]
RECIPE_TIPS = [
    "You can make a double batch and keep half in the fridge for up to three days.",
    "It also freezes well, so it is worth making extra.",
    "Taste as you go and adjust the seasoning to suit yourself.",
    "Children love helping with this one, especially the mixing.",
]

PRODUCTS = [
    ("rechargeable torch", "bright, light and easy to charge", "the clip feels a little weak"),
    ("electric kettle", "boils quickly and switches off reliably", "it is louder than my old one"),
    ("rain jacket", "kept me dry on a full day of walking", "the hood is a bit small"),
    (
        "wireless speaker",
        "clear sound and a battery that lasts all day",
        "the buttons are hard to find in the dark",
    ),
    ("garden hose", "does not kink and the connectors do not leak", "it is heavy to carry"),
    ("desk lamp", "warm, even light that is kind to the eyes", "the base takes up space"),
    ("backpack", "comfortable straps and lots of pockets", "the zips are stiff at first"),
    ("coffee grinder", "consistent grind and easy to clean", "it is slow for large amounts"),
]
